using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Edge.Device.Pipeline;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace Edge.Device.Sinks;

public sealed record MqttSettings(
    string Host,
    int Port,
    string Device,
    string TopicPrefix = "edge",
    int Qos = 1,
    bool Retain = true,
    string? Username = null,
    string? Password = null,
    bool Tls = false,
    string? CaFile = null,
    bool AllowUntrusted = false,
    string? ClientId = null,
    TimeSpan? KeepAlive = null,
    bool HomeAssistant = false,
    string DiscoveryPrefix = "homeassistant");

/// <summary>
/// Publishes forecasts to an MQTT broker with MQTTnet. Topic layout (prefix "edge" by default):
/// <code>
/// edge/&lt;device&gt;/forecast/&lt;feature&gt;   next-step value of each target feature, plain number (a sensor state)
/// edge/&lt;device&gt;/state                 the whole forecast as JSON (ForecastJson)
/// edge/&lt;device&gt;/status                "online" / "offline" (retained; "offline" is the last will)
/// homeassistant/sensor/&lt;device&gt;/&lt;feature&gt;_forecast/config   Home Assistant discovery (optional, retained)
/// </code>
/// Connection is made on first use and remade after a failure: a publish that fails throws, and the
/// <see cref="BufferedSink"/> holding the forecast retries with back-off, so a broker restart loses nothing.
/// </summary>
public sealed class MqttSink : IForecastSink
{
    private readonly MqttSettings _settings;
    private readonly ModelSpec _spec;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly MqttQualityOfServiceLevel _qos;
    private readonly string _base;
    private readonly string[] _featureTopics;
    private readonly X509Certificate2Collection? _trust;

    public MqttSink(MqttSettings settings, ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(spec);
        if (settings.Qos is < 0 or > 2) throw new ArgumentOutOfRangeException(nameof(settings), settings.Qos, "qos is 0, 1 or 2");
        _settings = settings;
        _spec = spec;
        _qos = (MqttQualityOfServiceLevel)settings.Qos;
        _base = $"{settings.TopicPrefix.TrimEnd('/')}/{TopicPart(settings.Device)}";
        _featureTopics = spec.Targets.Select(t => $"{_base}/forecast/{TopicPart(spec.Features[t].Name)}").ToArray();
        if (settings.CaFile is not null)
        {
            _trust = new X509Certificate2Collection();
            _trust.ImportFromPemFile(settings.CaFile);
        }

        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(settings.Host, settings.Port)
            .WithClientId(settings.ClientId ?? $"edge-{settings.Device}")
            .WithKeepAlivePeriod(settings.KeepAlive ?? TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithCleanSession(true)
            .WithWillTopic(StatusTopic)
            .WithWillPayload("offline"u8.ToArray())
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (settings.Username is not null) builder = builder.WithCredentials(settings.Username, settings.Password ?? "");
        if (settings.Tls)
            builder = builder.WithTlsOptions(o =>
            {
                o.UseTls();
                o.WithCertificateValidationHandler(ValidateCertificate);
            });
        _options = builder.Build();
        _client = new MqttClientFactory().CreateMqttClient();
    }

    public string Name => $"mqtt://{_settings.Host}:{_settings.Port}";

    public string StatusTopic => _base + "/status";

    public string StateTopic => _base + "/state";

    public IReadOnlyList<string> FeatureTopics => _featureTopics;

    /// <summary>MQTT topic levels may not hold the wildcards '+' and '#', and '/' would add a level.</summary>
    public static string TopicPart(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var chars = s.Trim().ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (chars[i] is '/' or '+' or '#' or '\0' || char.IsWhiteSpace(chars[i])) chars[i] = '_';
        return chars.Length == 0 ? "_" : new string(chars);
    }

    private bool ValidateCertificate(MqttClientCertificateValidationEventArgs args)
    {
        if (_settings.AllowUntrusted) return true;
        if (args.SslPolicyErrors == SslPolicyErrors.None) return true;
        if (_trust is null || args.Certificate is null) return false;
        // A private CA (the usual home-broker setup): chain to it alone, keep the name check.
        if ((args.SslPolicyErrors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var cert = X509CertificateLoader.LoadCertificate(args.Certificate.GetRawCertData());
        return chain.Build(cert);
    }

    private async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected) return;
        var result = await _client.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
            throw new IOException($"broker refused the connection: {result.ResultCode} {result.ReasonString}");
        await PublishAsync(StatusTopic, "online"u8.ToArray(), retain: true, cancellationToken).ConfigureAwait(false);
        if (_settings.HomeAssistant) await PublishDiscoveryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(_qos)
            .WithRetainFlag(retain)
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess) throw new IOException($"publish to {topic} failed: {result.ReasonCode} {result.ReasonString}");
    }

    private async Task PublishDiscoveryAsync(CancellationToken cancellationToken)
    {
        string device = TopicPart(_settings.Device);
        for (int j = 0; j < _spec.Targets.Count; j++)
        {
            var feature = _spec.Features[_spec.Targets[j]];
            string id = $"edge_{device}_{TopicPart(feature.Name)}_forecast";
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("name", $"{feature.Name} forecast");
                w.WriteString("unique_id", id);
                w.WriteString("object_id", id);
                w.WriteString("state_topic", _featureTopics[j]);
                if (feature.Unit is { Length: > 0 } unit) w.WriteString("unit_of_measurement", unit);
                w.WriteString("state_class", "measurement");
                w.WriteString("availability_topic", StatusTopic);
                w.WriteString("json_attributes_topic", StateTopic);
                w.WriteStartObject("device");
                w.WriteStartArray("identifiers");
                w.WriteStringValue("edge_" + device);
                w.WriteEndArray();
                w.WriteString("name", "Edge " + _settings.Device);
                w.WriteString("model", "edge forecaster");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            string topic = $"{_settings.DiscoveryPrefix.TrimEnd('/')}/sensor/{device}/{TopicPart(feature.Name)}_forecast/config";
            await PublishAsync(topic, ms.ToArray(), retain: true, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        try
        {
            await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
            for (int j = 0; j < _featureTopics.Length; j++)
            {
                var payload = Encoding.UTF8.GetBytes(float.IsFinite(forecast.Values[j]) ? forecast.Values[j].ToString("R", CultureInfo.InvariantCulture) : "");
                await PublishAsync(_featureTopics[j], payload, _settings.Retain, cancellationToken).ConfigureAwait(false);
            }
            await PublishAsync(StateTopic, ForecastJson.Serialize(forecast, _spec, _settings.Device), _settings.Retain, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // MQTTnet reports a lost broker in several ways (its own exceptions, socket errors, timeouts);
            // to the buffer they are all "not delivered, try again".
            throw new IOException($"mqtt {_settings.Host}:{_settings.Port}: {e.Message}", e);
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask; // each publish is acknowledged per its QoS

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await PublishAsync(StatusTopic, "offline"u8.ToArray(), retain: true, cts.Token).ConfigureAwait(false);
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException or MqttCommunicationException)
            {
            }
        }
        _client.Dispose();
    }
}
