// The message console: reads the service's own API (the same calls as any client), and
// follows /webhook/stream to show changes live. Every value from a message is put into
// the page as text (textContent), never as HTML; the page's Content-Security-Policy
// forbids inline script and every other origin besides.
'use strict';

(function () {
  const ORDERS_PAGE = 50;
  const MESSAGES_PAGE = 100;
  const SEARCH_PAGE = 20;
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;

  const $ = (id) => document.getElementById(id);
  const ui = {
    ordersList: $('orders'), ordersError: $('orders-error'), moreOrders: $('more-orders'), unreadOnly: $('unread-only'),
    heading: $('conversation-heading'), pane: $('conversation'), tools: $('conversation-tools'), threadSelect: $('thread-select'),
    messages: $('messages'), moreMessages: $('more-messages'), empty: $('conversation-empty'), error: $('conversation-error'),
    back: $('back-to-orders'), searchForm: $('search-form'), searchInput: $('search-input'), searchWindow: $('search-window'),
    status: $('live-status'), template: $('message-template'),
  };

  // What the page shows. `view` is 'none', 'order' (one order's conversation) or 'search'.
  const state = {
    orders: [], ordersCursor: null, ordersShown: ORDERS_PAGE,
    view: 'none', orderId: null, threadId: '', messages: new Map(), messagesCursor: null,
    search: null, searchResults: [], searchCursor: null,
    feedCursor: null, socket: null, reconnectDelay: RECONNECT_MIN_MS, reconnectTimer: null,
  };

  // ---- The API ----------------------------------------------------------------------

  class APIError extends Error {
    constructor(status, code, message) {
      super(message || ('The service answered ' + status + '.'));
      this.status = status;
      this.code = code;
    }
  }

  // Calls the API on this page's origin; the browser sends the credentials it was given
  // for this page. Answers the parsed JSON, or throws an APIError with the service's message.
  async function api(path, params, init) {
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== '') url.searchParams.set(name, value);
    }
    let response;
    try {
      response = await fetch(url, Object.assign({ headers: { Accept: 'application/json' }, cache: 'no-store' }, init || {}));
    } catch (error) {
      throw new APIError(0, 'network', 'The service cannot be reached.');
    }
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    if (!response.ok) {
      throw new APIError(response.status, body && body.error, body && body.message);
    }
    return body;
  }

  const segment = (value) => encodeURIComponent(value);
  const messagePath = (m) => '/webhook/messages/' + segment(m.orderId) + '/' + segment(m.messageType) + '/' + segment(m.messageId);
  const keyOf = (m) => m.orderId + '\u0000' + m.messageType + '\u0000' + m.messageId;
  const threadOf = (m) => m.threadId || m.orderId;

  // ---- Small DOM helpers (text only) -----------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function showError(node, error) {
    node.textContent = error ? error.message : '';
    node.hidden = !error;
  }

  function formatTime(value) {
    const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function formatBytes(size) {
    if (typeof size !== 'number') return '';
    if (size < 1024) return size + ' B';
    if (size < 1024 * 1024) return (size / 1024).toFixed(1) + ' KB';
    return (size / (1024 * 1024)).toFixed(1) + ' MB';
  }

  // Puts `nodes` into `list` in this order, moving only those out of place (a moved node
  // loses keyboard focus; one left in place keeps it).
  function arrange(list, nodes) {
    let next = list.firstChild;
    for (const node of nodes) {
      if (node === next) { next = next.nextSibling; continue; }
      list.insertBefore(node, next);
    }
    while (next) { const stale = next; next = next.nextSibling; stale.remove(); }
  }

  // ---- Orders ------------------------------------------------------------------------

  const orderNodes = new Map();

  async function loadOrders(more) {
    try {
      const page = await api('/webhook/orders', {
        limit: more ? ORDERS_PAGE : Math.min(state.ordersShown, 1000),
        cursor: more ? state.ordersCursor : null,
        unread: ui.unreadOnly.checked ? 'true' : null,
      });
      state.orders = more ? dedupeOrders(state.orders.concat(page.orders)) : page.orders;
      state.ordersCursor = page.next_cursor;
      state.ordersShown = Math.max(ORDERS_PAGE, state.orders.length);
      showError(ui.ordersError, null);
      renderOrders();
    } catch (error) {
      showError(ui.ordersError, error);
    }
  }

  function dedupeOrders(orders) {
    const seen = new Set();
    return orders.filter((o) => !seen.has(o.order_id) && seen.add(o.order_id));
  }

  function renderOrders() {
    const nodes = state.orders.map((order) => {
      let item = orderNodes.get(order.order_id);
      if (!item) {
        item = element('li', 'order-item');
        const button = element('button', 'order');
        button.type = 'button';
        button.addEventListener('click', () => openOrder(order.order_id));
        item.appendChild(button);
        orderNodes.set(order.order_id, item);
      }
      fillOrder(item, order);
      return item;
    });
    const shown = new Set(state.orders.map((o) => o.order_id));
    for (const id of Array.from(orderNodes.keys())) if (!shown.has(id)) orderNodes.delete(id);
    arrange(ui.ordersList, nodes);
    if (nodes.length === 0) ui.ordersList.appendChild(element('li', 'hint', ui.unreadOnly.checked ? 'No unread messages.' : 'No messages yet.'));
    ui.moreOrders.hidden = !state.ordersCursor;
  }

  function fillOrder(item, order) {
    item.dataset.orderId = order.order_id;
    const button = item.firstChild;
    button.replaceChildren();
    const title = element('span', 'order-title');
    title.appendChild(element('strong', 'order-id', order.order_id));
    if (order.order_number) title.appendChild(element('span', 'order-number', order.order_number));
    const unread = element('span', 'unread-count' + (order.unread_count ? '' : ' none'), order.unread_count ? order.unread_count + ' unread' : 'all read');
    unread.dataset.count = String(order.unread_count);
    title.appendChild(unread);
    button.appendChild(title);
    const last = order.last_message || {};
    const preview = element('span', 'order-preview');
    preview.appendChild(element('span', 'order-from', (last.message_type === 'message.sent' ? 'Sent by ' : '') + (last.from_name || '')));
    preview.appendChild(element('span', 'order-text', last.text || ''));
    button.appendChild(preview);
    button.appendChild(element('time', 'order-time', formatTime(order.last_message_at)));
    button.setAttribute('aria-label', order.order_id + (order.order_number ? ', ' + order.order_number : '') + ', ' + order.message_count
      + ' message' + (order.message_count === 1 ? '' : 's') + ', ' + order.unread_count + ' unread');
    if (state.view === 'order' && state.orderId === order.order_id) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }

  // Many changes arriving together cost one read of the list.
  let ordersRefresh = null;
  function refreshOrdersSoon() {
    if (ordersRefresh) return;
    ordersRefresh = setTimeout(() => { ordersRefresh = null; loadOrders(false); }, 200);
  }

  // ---- One order's conversation ------------------------------------------------------

  const messageNodes = new Map();

  async function openOrder(orderId, focusKey) {
    state.view = 'order';
    state.orderId = orderId;
    state.threadId = '';
    state.messages = new Map();
    state.messagesCursor = null;
    messageNodes.clear();
    ui.messages.replaceChildren();
    ui.heading.textContent = orderId;
    ui.empty.hidden = true;
    ui.tools.hidden = false;
    document.body.classList.add('show-conversation');
    renderOrders();
    // Focus moves at once, so that keys pressed while the messages load are not lost.
    ui.pane.focus({ preventScroll: true });
    window.scrollTo(0, 0);
    await Promise.all([loadThreads(), loadMessages(false)]);
    if (focusKey && messageNodes.has(focusKey) && document.activeElement === ui.pane) {
      const article = messageNodes.get(focusKey).querySelector('article');
      article.focus({ preventScroll: true });
      article.scrollIntoView({ block: 'nearest' });
    }
  }

  async function loadMessages(more) {
    const orderId = state.orderId;
    const threadId = state.threadId;
    try {
      const page = await api('/webhook/orders/' + segment(orderId) + '/conversation', {
        limit: MESSAGES_PAGE, cursor: more ? state.messagesCursor : null, thread_id: threadId || null,
      });
      if (state.view !== 'order' || state.orderId !== orderId || state.threadId !== threadId) return;
      for (const message of page.messages) state.messages.set(keyOf(message), message);
      state.messagesCursor = page.next_cursor;
      showError(ui.error, null);
      renderConversation();
    } catch (error) {
      showError(ui.error, error);
    }
  }

  async function loadThreads() {
    const orderId = state.orderId;
    try {
      const answer = await api('/webhook/orders/' + segment(orderId) + '/threads');
      if (state.orderId !== orderId) return;
      const options = [new Option('All messages', '')];
      for (const thread of answer.threads) {
        const name = thread.thread_id === orderId ? 'Main thread' : 'Thread ' + thread.thread_id;
        options.push(new Option(name + ' (' + thread.message_count + ', ' + thread.unread_count + ' unread)', thread.thread_id));
      }
      ui.threadSelect.replaceChildren(...options);
      ui.threadSelect.value = state.threadId;
    } catch (error) {
      showError(ui.error, error);
    }
  }

  let threadsRefresh = null;
  function refreshThreadsSoon() {
    if (threadsRefresh || state.view !== 'order') return;
    threadsRefresh = setTimeout(() => { threadsRefresh = null; if (state.view === 'order') loadThreads(); }, 200);
  }

  function byConversationOrder(a, b) {
    if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
    const left = a.messageType + '#' + a.messageId;
    const right = b.messageType + '#' + b.messageId;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  function renderConversation() {
    const messages = Array.from(state.messages.values()).sort(byConversationOrder);
    arrange(ui.messages, messages.map((m) => messageNode(m, null)));
    ui.moreMessages.hidden = !state.messagesCursor;
    ui.moreMessages.textContent = 'More messages';
    if (messages.length === 0) ui.messages.appendChild(element('li', 'hint', 'No messages in this thread.'));
  }

  // ---- Search ------------------------------------------------------------------------

  async function search(more) {
    if (!more) {
      const q = ui.searchInput.value.trim();
      if (!q) return;
      const days = ui.searchWindow.value;
      state.search = { q: q, from: days === 'all' ? null : new Date(Date.now() - Number(days) * 86400000).toISOString() };
      state.view = 'search';
      state.orderId = null;
      state.searchResults = [];
      state.searchCursor = null;
      messageNodes.clear();
      ui.messages.replaceChildren();
      ui.heading.textContent = 'Search results for “' + q + '”';
      ui.tools.hidden = true;
      ui.empty.hidden = true;
      document.body.classList.add('show-conversation');
      renderOrders();
    }
    const query = state.search;
    try {
      const page = await api('/webhook/search', { q: query.q, from: query.from, limit: SEARCH_PAGE, cursor: more ? state.searchCursor : null });
      if (state.view !== 'search' || state.search !== query) return;
      const known = new Set(state.searchResults.map((r) => keyOf(r.message)));
      state.searchResults = state.searchResults.concat(page.results.filter((r) => !known.has(keyOf(r.message))));
      state.searchCursor = page.next_cursor;
      showError(ui.error, null);
      renderSearch();
    } catch (error) {
      showError(ui.error, error);
      renderSearch();
    }
  }

  function renderSearch() {
    arrange(ui.messages, state.searchResults.map((r) => messageNode(r.message, r.snippet)));
    if (state.searchResults.length === 0 && ui.error.hidden) ui.messages.appendChild(element('li', 'hint', 'No messages found.'));
    ui.moreMessages.hidden = !state.searchCursor;
    ui.moreMessages.textContent = 'More results';
  }

  // ---- One message -------------------------------------------------------------------

  function messageNode(message, snippet) {
    const key = keyOf(message);
    let node = messageNodes.get(key);
    if (!node) {
      node = ui.template.content.firstElementChild.cloneNode(true);
      node.querySelector('article').tabIndex = -1;
      node.querySelector('.toggle-read').addEventListener('click', () => toggleRead(node));
      node.querySelector('.open-order').addEventListener('click', () => openOrder(node.message.orderId, keyOf(node.message)));
      messageNodes.set(key, node);
    }
    fillMessage(node, message, snippet);
    return node;
  }

  function fillMessage(node, message, snippet) {
    node.message = message;
    const sent = message.messageType === 'message.sent';
    node.className = 'message ' + (sent ? 'sent' : 'received') + (message.read ? ' read' : ' unread');
    node.dataset.orderId = message.orderId;
    node.dataset.messageType = message.messageType;
    node.dataset.messageId = message.messageId;
    node.querySelector('.direction').textContent = sent ? 'Sent' : 'Received';
    node.querySelector('.from').textContent = message.fromName;
    const when = node.querySelector('.when');
    when.textContent = formatTime(message.timestamp);
    when.dateTime = new Date(message.timestamp).toISOString();
    node.querySelector('.text').textContent = message.text;

    const snippetNode = node.querySelector('.snippet');
    if (snippet) {
      node.snippetField = snippet.field;
      snippetNode.replaceChildren(element('span', 'snippet-field', fieldName(snippet.field) + ': '));
      for (const part of snippet.parts) snippetNode.appendChild(element(part.match ? 'mark' : 'span', null, part.text));
      snippetNode.hidden = false;
    } else if (state.view !== 'search') {
      snippetNode.hidden = true; // (a live change to a search result keeps the snippet it was found by)
    }
    // A search result found in its text shows the snippet around the match instead.
    node.querySelector('.text').hidden = state.view === 'search' && !snippetNode.hidden && node.snippetField === 'text';

    const list = node.querySelector('.attachments');
    list.replaceChildren();
    for (const attachment of message.attachments || []) list.appendChild(attachmentItem(message, attachment));
    list.hidden = list.childElementCount === 0;

    const ids = [message.orderId, message.messageId];
    if (message.threadId) ids.push('thread ' + message.threadId);
    if (message.inReplyTo) ids.push('in reply to ' + message.inReplyTo);
    node.querySelector('.ids').textContent = ids.join(' · ');
    node.querySelector('.read-state').textContent = message.read ? 'Read' : 'Unread';
    const toggle = node.querySelector('.toggle-read');
    toggle.textContent = message.read ? 'Mark unread' : 'Mark read';
    toggle.setAttribute('aria-label', (message.read ? 'Mark unread: ' : 'Mark read: ') + message.messageId + ' from ' + message.fromName);
    node.querySelector('.open-order').hidden = state.view !== 'search';
  }

  function fieldName(field) {
    return { text: 'Text', from_name: 'From', order_number: 'Order number', attachment_name: 'Attachment' }[field] || field;
  }

  function attachmentItem(message, attachment) {
    const item = element('li', 'attachment');
    const link = element('a', null, attachment.name || attachment._id);
    link.href = messagePath(message) + '/attachments/' + segment(attachment._id);
    link.rel = 'noopener noreferrer';
    item.appendChild(link);
    const status = attachment.archived
      ? 'archived' + (typeof attachment.size === 'number' ? ', ' + formatBytes(attachment.size) : '')
      : 'not archived: from the sender\'s link';
    item.appendChild(element('span', 'attachment-state' + (attachment.archived ? ' archived' : ''), status));
    item.dataset.archived = String(Boolean(attachment.archived));
    return item;
  }

  async function toggleRead(node) {
    const message = node.message;
    const button = node.querySelector('.toggle-read');
    // aria-disabled, not disabled: a disabled button loses the keyboard focus.
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    try {
      const answer = await api(messagePath(message), null, {
        method: 'PATCH', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ read: !message.read }),
      });
      showMessage(answer.message);
      refreshOrdersSoon();
      refreshThreadsSoon();
    } catch (error) {
      showError(ui.error, error);
    } finally {
      button.removeAttribute('aria-disabled');
    }
  }

  // Shows a message's new state wherever the page shows it.
  function showMessage(message) {
    const key = keyOf(message);
    if (state.view === 'order' && message.orderId === state.orderId && (!state.threadId || threadOf(message) === state.threadId)) {
      state.messages.set(key, message);
      renderConversation();
    } else if (state.view === 'search') {
      const result = state.searchResults.find((r) => keyOf(r.message) === key);
      if (result) { result.message = message; fillMessage(messageNodes.get(key), message, null); }
    }
  }

  // ---- Live ---------------------------------------------------------------------------

  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
  }

  function applyEvent(event) {
    state.feedCursor = event.cursor;
    if (event.message) showMessage(event.message);
    refreshOrdersSoon();
    if (state.view === 'order' && event.order_id === state.orderId) refreshThreadsSoon();
  }

  function connect() {
    state.reconnectTimer = null;
    const url = new URL('/webhook/stream', location.origin);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('after', state.feedCursor);
    const socket = new WebSocket(url);
    state.socket = socket;
    socket.addEventListener('open', () => {
      state.reconnectDelay = RECONNECT_MIN_MS;
      setStatus('live', 'Live');
    });
    socket.addEventListener('message', (event) => {
      let parsed;
      try { parsed = JSON.parse(event.data); } catch (error) { return; }
      applyEvent(parsed);
    });
    socket.addEventListener('close', () => {
      if (state.socket !== socket) return;
      state.socket = null;
      setStatus('reconnecting', 'Reconnecting…');
      reconnectLater();
    });
  }

  function reconnectLater() {
    const delay = state.reconnectDelay;
    state.reconnectDelay = Math.min(RECONNECT_MAX_MS, delay * 2);
    state.reconnectTimer = setTimeout(resume, delay);
  }

  // Before reconnecting, asks the feed about the last cursor: a browser is not told why a
  // WebSocket failed, the feed's answer says. A cursor that has expired means events may be
  // gone, so everything shown is read again and the stream starts from now.
  async function resume() {
    try {
      await api('/webhook/feed', { after: state.feedCursor, limit: 1 });
      connect();
    } catch (error) {
      if (error.code === 'cursor_expired' || error.code === 'invalid_cursor') {
        await resync();
      } else if (error.status === 401) {
        setStatus('offline', 'Signed out: reload the page to sign in again.');
      } else {
        setStatus('reconnecting', 'Reconnecting… (' + error.message + ')');
        reconnectLater();
      }
    }
  }

  // Starts the stream from the feed's end and reads the page's contents afresh. Taking the
  // cursor first means nothing stored meanwhile can fall between the reads and the stream.
  async function resync() {
    try {
      const end = await api('/webhook/feed', { after: 'now', limit: 1 });
      state.feedCursor = end.next_cursor;
    } catch (error) {
      setStatus('reconnecting', 'Reconnecting… (' + error.message + ')');
      state.reconnectTimer = setTimeout(resync, state.reconnectDelay);
      state.reconnectDelay = Math.min(RECONNECT_MAX_MS, state.reconnectDelay * 2);
      return;
    }
    const reads = [loadOrders(false)];
    if (state.view === 'order') reads.push(loadMessages(false), loadThreads());
    await Promise.all(reads);
    connect();
  }

  // ---- Wiring -------------------------------------------------------------------------

  ui.moreOrders.addEventListener('click', () => loadOrders(true));
  ui.unreadOnly.addEventListener('change', () => { state.ordersShown = ORDERS_PAGE; loadOrders(false); });
  ui.moreMessages.addEventListener('click', () => (state.view === 'search' ? search(true) : loadMessages(true)));
  ui.threadSelect.addEventListener('change', () => {
    state.threadId = ui.threadSelect.value;
    state.messages = new Map();
    state.messagesCursor = null;
    messageNodes.clear();
    ui.messages.replaceChildren();
    loadMessages(false);
  });
  ui.searchForm.addEventListener('submit', (event) => { event.preventDefault(); search(false); });
  ui.back.addEventListener('click', () => {
    document.body.classList.remove('show-conversation');
    const current = state.orderId && orderNodes.get(state.orderId);
    (current ? current.firstChild : ui.ordersList).focus();
  });

  resync();
})();
