import AWSSigning

/// Which of a region's DynamoDB endpoints to use: the AWS SDKs' `AWS_USE_FIPS_ENDPOINT` and
/// `AWS_USE_DUALSTACK_ENDPOINT`. An explicit endpoint (`AWS_ENDPOINT_URL_DYNAMODB`) wins
/// over both.
public struct DynamoDBEndpoint: Sendable, Hashable {
    /// Use the FIPS 140 validated endpoint (`dynamodb-fips.…`).
    public var useFIPS: Bool
    /// Use the dual-stack (IPv4 and IPv6) endpoint (the partition's dual-stack suffix, such as `api.aws`).
    public var useDualStack: Bool

    /// Creates a choice; the default is the region's plain IPv4 endpoint.
    public init(useFIPS: Bool = false, useDualStack: Bool = false) {
        self.useFIPS = useFIPS
        self.useDualStack = useDualStack
    }

    /// The endpoint URL in `region`, as DynamoDB's endpoint rules (botocore's
    /// `endpoint-rule-set-1.json`) build it: `https://dynamodb[-fips].{region}.{suffix}`, the
    /// suffix the region's partition's plain or dual-stack one (`amazonaws.com`, `api.aws`;
    /// China: `amazonaws.com.cn`, `api.amazonwebservices.com.cn`).
    public func url(region: String) -> String {
        let partition = AWSPartition.of(region: region)
        let service = useFIPS ? "dynamodb-fips" : "dynamodb"
        let suffix = useDualStack ? partition.dualStackDNSSuffix : partition.dnsSuffix
        return "https://\(service).\(region).\(suffix)"
    }
}
