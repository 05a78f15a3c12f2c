/// The AWS region and where it was found, chosen as the AWS SDKs choose it: `AWS_REGION`,
/// then `AWS_DEFAULT_REGION`, then the selected profile's `region` in the shared files
/// (`AWS_PROFILE`, else `default`; see ``SharedConfigFiles``), then `us-east-1`.
///
/// botocore itself reads no `AWS_REGION` (only `AWS_DEFAULT_REGION`); the other SDKs (Go,
/// JavaScript, Java) read it first, and so does this service, as it always has.
public struct AWSRegion: Sendable, Hashable, CustomStringConvertible {
    /// Where a region was found.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// The `AWS_REGION` variable.
        case awsRegion
        /// The `AWS_DEFAULT_REGION` variable.
        case awsDefaultRegion
        /// The `region` of this profile in the shared files.
        case profile(String)
        /// None of them: ``AWSRegion/defaultName``.
        case `default`

        /// `AWS_REGION`, `AWS_DEFAULT_REGION`, `profile NAME` or `default`, for logs and messages.
        public var description: String {
            switch self {
            case .awsRegion: "AWS_REGION"
            case .awsDefaultRegion: "AWS_DEFAULT_REGION"
            case .profile(let name): "profile \(name)"
            case .default: "default"
            }
        }
    }

    /// The region's name, such as `eu-west-1`.
    public var name: String
    /// Where it was found.
    public var source: Source

    /// The region used when nothing names one.
    public static let defaultName = "us-east-1"

    /// Creates a region.
    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }

    /// The region `environment` chooses. Empty values count as unset.
    public static func resolve(environment: [String: String]) -> AWSRegion {
        if let name = environment["AWS_REGION"], !name.isEmpty { return AWSRegion(name: name, source: .awsRegion) }
        if let name = environment["AWS_DEFAULT_REGION"], !name.isEmpty { return AWSRegion(name: name, source: .awsDefaultRegion) }
        let files = SharedConfigFiles(environment: environment)
        if let name = files.profile(files.selectedProfile)?["region"], !name.isEmpty {
            return AWSRegion(name: name, source: .profile(files.selectedProfile))
        }
        return AWSRegion(name: defaultName, source: .default)
    }

    public var description: String { "\(name) (from \(source))" }
}
