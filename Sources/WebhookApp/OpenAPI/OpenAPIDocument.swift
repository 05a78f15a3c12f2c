// Generated from openapi.yaml by scripts/embed-openapi. Do not edit; edit openapi.yaml.

/// The OpenAPI document served at `/openapi.yaml`.
enum OpenAPIDocument {
    /// `openapi.yaml`, byte for byte.
    static let yaml = #"""
openapi: 3.1.0
info:
  title: qualia-webhook
  version: 1.0.0
  description: |
    Receives Qualia message webhooks, stores them durably and serves them back.
    A 200 from POST /webhook/messages means the message is durably stored; any 5xx means it
    was not, and the sender should retry.
servers:
  - url: http://localhost:8000
security:
  - basicAuth: []
paths:
  /webhook/messages:
    post:
      operationId: receiveMessage
      summary: Store one message webhook
      description: |
        Validates and stores a message. Deliveries are idempotent: the payload's `timestamp`
        orders versions of one message (same order, type and id), and `delivery` in the answer
        says what happened.
      parameters:
        - $ref: '#/components/parameters/RequestID'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/MessageWebhook'
      responses:
        '200':
          description: The message is durably stored (or a version at least as new already was).
          headers:
            X-Request-ID:
              $ref: '#/components/headers/RequestID'
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Receipt'
        '400':
          $ref: '#/components/responses/BadRequest'
        '401':
          $ref: '#/components/responses/Unauthorized'
        '413':
          $ref: '#/components/responses/PayloadTooLarge'
        '417':
          $ref: '#/components/responses/ExpectationFailed'
        '431':
          $ref: '#/components/responses/HeadersTooLarge'
        '429':
          $ref: '#/components/responses/TooManyFailedAttempts'
        '500':
          $ref: '#/components/responses/InternalError'
        '503':
          $ref: '#/components/responses/StoreUnavailable'
  /webhook/messages/{order_id}:
    get:
      operationId: listMessages
      summary: Every stored message of an order
      parameters:
        - name: order_id
          in: path
          required: true
          description: Qualia's order identifier, `QO-` and at least one more character.
          schema:
            type: string
        - name: message_type
          in: query
          required: false
          description: Only messages of this type.
          schema:
            $ref: '#/components/schemas/MessageType'
        - $ref: '#/components/parameters/RequestID'
      responses:
        '200':
          description: The order's messages in sort-key order; an unknown order has none.
          headers:
            X-Request-ID:
              $ref: '#/components/headers/RequestID'
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/MessageList'
        '400':
          $ref: '#/components/responses/BadRequest'
        '401':
          $ref: '#/components/responses/Unauthorized'
        '404':
          $ref: '#/components/responses/NotFound'
        '417':
          $ref: '#/components/responses/ExpectationFailed'
        '431':
          $ref: '#/components/responses/HeadersTooLarge'
        '429':
          $ref: '#/components/responses/TooManyFailedAttempts'
        '500':
          $ref: '#/components/responses/InternalError'
        '503':
          $ref: '#/components/responses/StoreUnavailable'
  /health:
    get:
      operationId: health
      summary: Liveness, for load balancers
      security: []
      responses:
        '200':
          description: The process serves HTTP.
          headers:
            X-Request-ID:
              $ref: '#/components/headers/RequestID'
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Probe'
  /ready:
    get:
      operationId: ready
      summary: Readiness, for orchestrators
      security: []
      responses:
        '200':
          description: The store answers.
          headers:
            X-Request-ID:
              $ref: '#/components/headers/RequestID'
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Probe'
        '503':
          $ref: '#/components/responses/StoreUnavailable'
  /openapi.yaml:
    get:
      operationId: openAPIDocument
      summary: This document
      security: []
      responses:
        '200':
          description: The OpenAPI document.
          headers:
            X-Request-ID:
              $ref: '#/components/headers/RequestID'
          content:
            application/yaml:
              schema:
                type: object
                description: An OpenAPI 3.1 document.
components:
  securitySchemes:
    basicAuth:
      type: http
      scheme: basic
  parameters:
    RequestID:
      name: X-Request-ID
      in: header
      required: false
      description: Names the request in both sides' logs; echoed back when it is 1 to 128 visible ASCII characters without quotes or backslashes.
      schema:
        type: string
  headers:
    RequestID:
      description: The request's id, the caller's own or a new 16-hex-digit one.
      schema:
        type: string
    RetryAfter:
      description: Seconds to wait before trying again.
      schema:
        type: string
        pattern: '^[0-9]+$'
    WWWAuthenticate:
      description: The Basic authentication challenge.
      schema:
        type: string
  responses:
    BadRequest:
      description: Invalid JSON, fields that break the rules (`fields` names every one), or malformed HTTP (framing, a body cut short).
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    Unauthorized:
      description: Missing or wrong credentials.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
        WWW-Authenticate:
          $ref: '#/components/headers/WWWAuthenticate'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    NotFound:
      description: No such endpoint.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    PayloadTooLarge:
      description: The body is larger than MAX_BODY_BYTES.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    ExpectationFailed:
      description: The request's Expect header asks for something other than 100-continue.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    HeadersTooLarge:
      description: The request line and headers are larger than 80 KiB.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    TooManyFailedAttempts:
      description: This address failed to authenticate too often lately.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
        Retry-After:
          $ref: '#/components/headers/RetryAfter'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    InternalError:
      description: Something unexpected; nothing was stored by this request. The cause is in the log.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    StoreUnavailable:
      description: The store cannot be reached right now; nothing was stored. Retry later.
      headers:
        X-Request-ID:
          $ref: '#/components/headers/RequestID'
        Retry-After:
          $ref: '#/components/headers/RetryAfter'
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
  schemas:
    MessageType:
      type: string
      enum: [message.received, message.sent]
    DateTime:
      type: string
      format: date-time
      maxLength: 64
      description: ISO 8601 with a time zone, with or without fractional seconds.
    MessageWebhook:
      type: object
      required: [order_id, message_id, from_name, text, created_date, message_type, timestamp]
      properties:
        order_id:
          type: string
          pattern: '^QO-.+'
          description: At most 256 bytes of UTF-8, no control characters.
        message_id:
          type: string
          minLength: 1
          description: At most 256 bytes of UTF-8, no control characters.
        order_number:
          type: [string, 'null']
          description: At most 256 bytes of UTF-8, no control characters.
        from_name:
          type: string
          minLength: 1
          description: At most 1024 bytes of UTF-8.
        text:
          type: string
          description: At most 200000 bytes of UTF-8; stored exactly as sent.
        created_date:
          $ref: '#/components/schemas/DateTime'
        read:
          type: [boolean, 'null']
          default: false
        attachments:
          type: [array, 'null']
          maxItems: 50
          items:
            $ref: '#/components/schemas/AttachmentInput'
        message_type:
          $ref: '#/components/schemas/MessageType'
        timestamp:
          $ref: '#/components/schemas/DateTime'
      additionalProperties: true
    AttachmentInput:
      type: object
      required: [_id, name, url]
      properties:
        _id:
          type: string
          minLength: 1
        name:
          type: string
        url:
          type: string
          format: uri
          description: An http or https URL, at most 2048 bytes.
        tag:
          type: [string, 'null']
    Receipt:
      type: object
      required: [message, order_id, message_id, message_type, request_id, response_time_ms, delivery]
      properties:
        message:
          type: string
          const: Message received and stored successfully
        order_id:
          type: string
        message_id:
          type: string
        message_type:
          $ref: '#/components/schemas/MessageType'
        request_id:
          type: string
        response_time_ms:
          type: number
          minimum: 0
        delivery:
          type: string
          enum: [created, updated, duplicate, stale]
          description: created (new), updated (replaced an older version), duplicate (same version already stored), stale (a newer or first-stored version is kept).
    StoredMessage:
      type: object
      required: [PK, SK, orderId, messageId, messageType, fromName, text, createdDate, read, timestamp, storedAt]
      properties:
        PK:
          type: string
          description: MESSAGE#{order_id}
        SK:
          type: string
          description: '{message_type}#{message_id}'
        orderId:
          type: string
        messageId:
          type: string
        messageType:
          $ref: '#/components/schemas/MessageType'
        fromName:
          type: string
        text:
          type: string
        createdDate:
          type: string
        read:
          type: boolean
        timestamp:
          type: integer
          description: Unix milliseconds of the delivery's timestamp.
        storedAt:
          type: string
        orderNumber:
          type: string
        attachments:
          type: array
          items:
            $ref: '#/components/schemas/StoredAttachment'
      additionalProperties: false
    StoredAttachment:
      type: object
      required: [_id, name, url]
      properties:
        _id:
          type: string
        name:
          type: string
        url:
          type: string
        tag:
          type: string
      additionalProperties: false
    MessageList:
      type: object
      required: [order_id, message_type, count, messages]
      properties:
        order_id:
          type: string
        message_type:
          oneOf:
            - $ref: '#/components/schemas/MessageType'
            - type: 'null'
        count:
          type: integer
          minimum: 0
        messages:
          type: array
          items:
            $ref: '#/components/schemas/StoredMessage'
    Probe:
      type: object
      required: [status]
      properties:
        status:
          type: string
          enum: [ok, ready]
    Error:
      type: object
      required: [error, message, request_id]
      properties:
        error:
          type: string
          enum: [invalid_json, validation_failed, unauthorized, payload_too_large, not_found, method_not_allowed, bad_request, headers_too_large, expectation_failed, too_many_failed_attempts, store_unavailable, internal_error]
        message:
          type: string
        request_id:
          type: string
        fields:
          type: array
          items:
            type: object
            required: [field, message]
            properties:
              field:
                type: string
              message:
                type: string

"""#
}
