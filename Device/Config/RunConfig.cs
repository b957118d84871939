using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Device.Config;

/// <summary>
/// The `edge run` configuration file (docs/config.md). Every field is optional: what the blob's
/// metadata says about the model wins, these values are the fallback; command-line flags override
/// the file. Keys are snake_case; an unknown key is an error (a typo must not silently do nothing).
/// </summary>
public sealed class RunConfig
{
    public string? Model { get; set; }

    /// <summary>Device name used in MQTT topics and output records (default: the host name).</summary>
    public string? Device { get; set; }

    /// <summary>Steps to forecast; beyond the model's own output length they come from autoregressive rollout.</summary>
    public int? Horizon { get; set; }

    public List<FeatureConfig>? Features { get; set; }

    /// <summary>Names of the features the model outputs, in output order (default: all features).</summary>
    public List<string>? Targets { get; set; }

    public NormalizationConfig? Normalization { get; set; }

    public double? SamplePeriodS { get; set; }

    public int? Window { get; set; }

    /// <summary>"mean" (default when the period is known), "last", or "none" (every sample is one step).</summary>
    public string? Resample { get; set; }

    public MissingConfig? Missing { get; set; }

    /// <summary>Graph input / output to use when the model has several.</summary>
    public string? Input { get; set; }

    public string? Output { get; set; }

    public SourceConfig? Source { get; set; }

    public List<SinkConfig>? Sinks { get; set; }

    /// <summary>How often the counters are logged (default 60 s; 0 = only at exit).</summary>
    public double? StatsIntervalS { get; set; }

    /// <summary>How long a graceful stop waits for sinks to deliver what they hold (default 5 s).</summary>
    public double? FlushTimeoutS { get; set; }

    /// <summary>Prometheus /metrics and /healthz (docs/config.md); absent: no HTTP server at all.</summary>
    public MetricsConfig? Metrics { get; set; }
}

public sealed class MetricsConfig
{
    /// <summary>HOST:PORT or PORT (then 127.0.0.1); "0.0.0.0:PORT" or "*:PORT" serves every interface.</summary>
    public string Listen { get; set; } = "127.0.0.1:9464";
}

public sealed class FeatureConfig
{
    public string Name { get; set; } = "";

    public string? Unit { get; set; }
}

public sealed class NormalizationConfig
{
    /// <summary>"minmax", "standard" or "none".</summary>
    public string Kind { get; set; } = "none";

    public float[]? Min { get; set; }

    public float[]? Max { get; set; }

    public float[]? Mean { get; set; }

    public float[]? Std { get; set; }
}

public sealed class MissingConfig
{
    /// <summary>"hold" (last value), "interpolate" (linear, delays output until the gap closes) or "drop".</summary>
    public string Policy { get; set; } = "hold";

    /// <summary>Longest run of missing steps that is filled; a longer one restarts the window.</summary>
    public int MaxGap { get; set; } = 3;
}

public sealed class SourceConfig
{
    /// <summary>"serial", "replay" or "sensors".</summary>
    public string Kind { get; set; } = "";

    // serial
    public string? Port { get; set; }

    public int Baud { get; set; } = 9600;

    /// <summary>"none", "odd", "even", "mark", "space".</summary>
    public string Parity { get; set; } = "none";

    public int DataBits { get; set; } = 8;

    /// <summary>"one", "onepointfive", "two".</summary>
    public string StopBits { get; set; } = "one";

    /// <summary>Line format of serial and replay input: "csv", "json" (one object per line) or "kv" (key=value pairs).</summary>
    public string Format { get; set; } = "csv";

    /// <summary>CSV column names by position; without it a first line whose fields are not numbers is taken as the header.</summary>
    public List<string>? Columns { get; set; }

    public string Delimiter { get; set; } = ",";

    /// <summary>Input field (column or key) -> feature name. Fields that match a feature name map to it without an entry.</summary>
    public Dictionary<string, string>? Map { get; set; }

    /// <summary>Field holding the sample time (ISO 8601 or unix seconds); without it the arrival time is used.</summary>
    public string? TimeField { get; set; }

    public int MaxLineLength { get; set; } = 1024;

    public double ReconnectMinS { get; set; } = 0.5;

    public double ReconnectMaxS { get; set; } = 30;

    // replay
    public string? Path { get; set; }

    /// <summary>"realtime", "fast", or a speed-up factor such as "60".</summary>
    public string Speed { get; set; } = "realtime";

    // sensors
    public List<SensorConfig>? Sensors { get; set; }

    /// <summary>Sensor sampling period when neither the blob nor the file gives one.</summary>
    public double? PeriodS { get; set; }
}

public sealed class SensorConfig
{
    /// <summary>"bme280", "mcp3008" or "dht22".</summary>
    public string Kind { get; set; } = "";

    /// <summary>I2C or SPI bus number.</summary>
    public int Bus { get; set; } = 1;

    /// <summary>BME280 I2C address (118 = 0x76, 119 = 0x77).</summary>
    public int Address { get; set; } = 0x76;

    public int ChipSelect { get; set; }

    public int ClockHz { get; set; } = 1_000_000;

    /// <summary>DHT22 data pin (logical GPIO number).</summary>
    public int Pin { get; set; } = 4;

    /// <summary>Sensor quantity -> feature name (bme280: temperature, humidity, pressure; dht22: temperature, humidity).</summary>
    public Dictionary<string, string>? Map { get; set; }

    /// <summary>MCP3008: feature name -> channel (0..7).</summary>
    public Dictionary<string, int>? Channels { get; set; }

    /// <summary>MCP3008: value = raw (0..1023) * scale + offset.</summary>
    public double Scale { get; set; } = 1;

    public double Offset { get; set; }
}

public sealed class SinkConfig
{
    /// <summary>"stdout", "csv", "mqtt" or "serial".</summary>
    public string Kind { get; set; } = "stdout";

    /// <summary>Forecasts held while the sink is down; beyond it the oldest are dropped and counted.</summary>
    public int Buffer { get; set; } = 1000;

    public double ReconnectMinS { get; set; } = 0.5;

    public double ReconnectMaxS { get; set; } = 30;

    // csv
    public string? Path { get; set; }

    // mqtt
    public string Host { get; set; } = "127.0.0.1";

    public int? Port { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>File whose first line is the password (keeps secrets out of the config file).</summary>
    public string? PasswordFile { get; set; }

    public bool Tls { get; set; }

    /// <summary>PEM file of the CA that signed the broker's certificate (default: the system store).</summary>
    public string? CaFile { get; set; }

    /// <summary>Accept any broker certificate (testing only).</summary>
    public bool AllowUntrusted { get; set; }

    public string? ClientId { get; set; }

    public int Qos { get; set; } = 1;

    public bool Retain { get; set; } = true;

    public string TopicPrefix { get; set; } = "edge";

    public bool HomeAssistant { get; set; }

    public string DiscoveryPrefix { get; set; } = "homeassistant";

    public double KeepAliveS { get; set; } = 30;

    // serial out
    public int Baud { get; set; } = 115200;
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    WriteIndented = true)]
[JsonSerializable(typeof(RunConfig))]
internal sealed partial class RunConfigJsonContext : JsonSerializerContext;
