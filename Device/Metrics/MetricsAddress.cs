using System.Globalization;
using System.Net;
using Edge.Runtime;

namespace Edge.Device.Metrics;

/// <summary>
/// Where `edge run` serves /metrics and /healthz: <c>metrics.listen</c> or <c>--metrics</c>, as
/// HOST:PORT, [IPv6]:PORT or PORT alone (loopback). Loopback unless the user names another address:
/// the counters say what the device measures and are not for every network it is on.
/// </summary>
public sealed record MetricsAddress(string Host, int Port)
{
    /// <summary>The host as HttpListener prefixes spell it ("+" for every interface, IPv6 in brackets).</summary>
    public string PrefixHost => Host switch
    {
        "0.0.0.0" or "*" or "::" or "[::]" => "+",
        _ when Host.Contains(':', StringComparison.Ordinal) && !Host.StartsWith('[') => "[" + Host + "]",
        _ => Host,
    };

    public override string ToString() => $"{(Host.Contains(':', StringComparison.Ordinal) && !Host.StartsWith('[') ? "[" + Host + "]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <paramref name="value"/>; <paramref name="what"/> names the key or flag in the error.</summary>
    public static MetricsAddress Parse(string? value, string what)
    {
        var v = (value ?? "").Trim();
        string Bad(string why) => $"{what}: '{value}' {why}; expected HOST:PORT or PORT (e.g. 127.0.0.1:9464, 0.0.0.0:9464 for every interface)";
        if (v.Length == 0) throw new EdgeException(Bad("is empty"));
        string host;
        string port;
        if (v.StartsWith('['))
        {
            int close = v.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= v.Length || v[close + 1] != ':') throw new EdgeException(Bad("is not [IPV6]:PORT"));
            host = v[1..close];
            port = v[(close + 2)..];
        }
        else if (v.Count(c => c == ':') > 1)
        {
            throw new EdgeException(Bad("is an IPv6 address without brackets"));
        }
        else
        {
            int colon = v.LastIndexOf(':');
            host = colon < 0 ? "127.0.0.1" : v[..colon];
            port = colon < 0 ? v : v[(colon + 1)..];
        }
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
            throw new EdgeException(Bad($"has no port 1..65535 ('{port}')"));
        if (host.Length == 0) throw new EdgeException(Bad("has no host"));
        if (host != "*" && !IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) != UriHostNameType.Dns)
            throw new EdgeException(Bad($"has a host '{host}' that is neither an IP address nor a host name"));
        return new MetricsAddress(host, p);
    }
}
