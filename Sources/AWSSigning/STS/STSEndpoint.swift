import Foundation

/// Where STS is asked for credentials, chosen as the AWS SDKs choose it.
enum STSEndpoint {
    /// `AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL` (a local moto, say), else the
    /// region's own endpoint, `https://sts.{region}.amazonaws.com` (`.amazonaws.com.cn` in
    /// the China regions). Regional rather than the global `sts.amazonaws.com`: the AWS
    /// SDKs' default since 2022, and credentials that work in every region.
    static func url(region: String, environment: [String: String]) -> String {
        for name in ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"] {
            if let value = environment[name], !value.isEmpty { return value }
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "https://sts.\(region).\(suffix)"
    }

    /// `url` fit for an error message: without a user name, password or query, which an
    /// operator's endpoint variable may carry.
    static func withoutSecrets(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "the configured STS endpoint" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "the configured STS endpoint"
    }
}
