//! What little the product keeps about a client's network and browser.

use std::net::IpAddr;

/// The client's network, truncated so it no longer identifies a device:
/// IPv4 to its /24, IPv6 to its /48. Written as a CIDR prefix.
pub fn truncated_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return truncated_network(IpAddr::V4(v4));
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// The browser family of a user-agent string (`Firefox`, `Chrome`, …): the
/// only part of the user agent the receipt keeps.
pub fn user_agent_family(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent else {
        return "unknown";
    };
    // Order matters: Edge and Opera also claim Chrome, Chrome also claims Safari.
    const FAMILIES: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    FAMILIES
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map_or("other", |(_, family)| family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_keeps_its_slash_24() {
        assert_eq!(truncated_network("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
    }

    #[test]
    fn ipv6_keeps_its_slash_48() {
        assert_eq!(
            truncated_network("2001:db8:abcd:12:1:2:3:4".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
    }

    #[test]
    fn mapped_ipv4_is_truncated_as_ipv4() {
        assert_eq!(
            truncated_network("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn recognises_browser_families() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        let edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0";
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let safari = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
        assert_eq!(user_agent_family(Some(chrome)), "Chrome");
        assert_eq!(user_agent_family(Some(edge)), "Edge");
        assert_eq!(user_agent_family(Some(firefox)), "Firefox");
        assert_eq!(user_agent_family(Some(safari)), "Safari");
        assert_eq!(user_agent_family(Some("Wget/1.21")), "other");
        assert_eq!(user_agent_family(None), "unknown");
    }
}
