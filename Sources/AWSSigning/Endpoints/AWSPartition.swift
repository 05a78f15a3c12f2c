/// A group of AWS regions that share DNS names: the standard regions, China, GovCloud, the
/// European Sovereign Cloud and the isolated ones. The AWS SDKs' endpoint rules build each
/// service's host from the region and its partition's suffixes (botocore's
/// `data/partitions.json`, which these values copy).
public struct AWSPartition: Sendable, Hashable {
    /// The partition's name, such as `aws-cn`.
    public var name: String
    /// The suffix of its regional host names, such as `amazonaws.com.cn`.
    public var dnsSuffix: String
    /// The suffix of its dual-stack (IPv4 and IPv6) host names, such as `api.aws`.
    public var dualStackDNSSuffix: String

    /// The standard regions (`us-east-1`, `eu-west-1`, …), and any region no other partition claims.
    public static let aws = AWSPartition(name: "aws", dnsSuffix: "amazonaws.com", dualStackDNSSuffix: "api.aws")
    /// The China regions (`cn-north-1`, `cn-northwest-1`).
    public static let china = AWSPartition(name: "aws-cn", dnsSuffix: "amazonaws.com.cn", dualStackDNSSuffix: "api.amazonwebservices.com.cn")
    /// AWS GovCloud (US) (`us-gov-west-1`, `us-gov-east-1`): the standard suffixes.
    public static let govCloud = AWSPartition(name: "aws-us-gov", dnsSuffix: "amazonaws.com", dualStackDNSSuffix: "api.aws")
    /// The AWS European Sovereign Cloud (`eusc-de-east-1`).
    public static let europeanSovereignCloud = AWSPartition(
        name: "aws-eusc", dnsSuffix: "amazonaws.eu", dualStackDNSSuffix: "api.amazonwebservices.eu"
    )
    /// The isolated regions `us-iso-*`.
    public static let iso = AWSPartition(name: "aws-iso", dnsSuffix: "c2s.ic.gov", dualStackDNSSuffix: "api.aws.ic.gov")
    /// The isolated regions `us-isob-*`.
    public static let isoB = AWSPartition(name: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov", dualStackDNSSuffix: "api.aws.scloud")
    /// The isolated regions `eu-isoe-*`.
    public static let isoE = AWSPartition(name: "aws-iso-e", dnsSuffix: "cloud.adc-e.uk", dualStackDNSSuffix: "api.cloud-aws.adc-e.uk")
    /// The isolated regions `us-isof-*`.
    public static let isoF = AWSPartition(name: "aws-iso-f", dnsSuffix: "csp.hci.ic.gov", dualStackDNSSuffix: "api.aws.hci.ic.gov")

    /// Region name prefixes and their partitions, longest first so `us-isob-` is not taken
    /// for `us-iso-`.
    private static let prefixes: [(prefix: String, partition: AWSPartition)] = [
        ("us-isob-", .isoB), ("us-isof-", .isoF), ("eu-isoe-", .isoE), ("us-iso-", .iso), ("us-gov-", .govCloud),
        ("eusc-", .europeanSovereignCloud), ("cn-", .china),
    ]

    /// The partition of `region`: by its prefix, as botocore's region patterns match it, and
    /// the standard partition for every other name (botocore's fallback too).
    public static func of(region: String) -> AWSPartition {
        prefixes.first { region.hasPrefix($0.prefix) }?.partition ?? .aws
    }
}
