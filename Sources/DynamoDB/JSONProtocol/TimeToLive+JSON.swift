import JSON

// The time-to-live operations' bodies, written and read without Foundation's coders (see
// `Operations+JSON.swift`).

extension UpdateTimeToLiveInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.key("TimeToLiveSpecification")
        writer.beginObject()
        writer.field("AttributeName", timeToLiveSpecification.attributeName)
        writer.field("Enabled", timeToLiveSpecification.enabled)
        writer.endObject()
        writer.endObject()
    }
}

extension UpdateTimeToLiveOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        let object = try ResponseObject(json, "the answer")
        timeToLiveSpecification = try object["TimeToLiveSpecification"].map { value throws(UnreadableResponseError) in
            let member = try ResponseObject(value, "TimeToLiveSpecification")
            guard let name = try member.string("AttributeName"), case .bool(let enabled)? = member["Enabled"] else {
                throw UnreadableResponseError("TimeToLiveSpecification lacks AttributeName or Enabled")
            }
            return TimeToLiveSpecification(attributeName: name, enabled: enabled)
        }
    }
}

extension DescribeTimeToLiveOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        let member = try ResponseObject(try ResponseObject(json, "the answer").required("TimeToLiveDescription"), "TimeToLiveDescription")
        timeToLiveDescription = TimeToLiveDescription(
            timeToLiveStatus: try member.string("TimeToLiveStatus"), attributeName: try member.string("AttributeName")
        )
    }
}
