using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Device.Config;
using Edge.Device.Hosting;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Device.Sources;
using MQTTnet;
using MQTTnet.Protocol;

namespace Edge.Runtime.Tests.Device;

/// <summary>A real broker (mosquitto on a free loopback port), a real subscriber, and a broker restart in the middle.</summary>
[TestClass]
public sealed class MqttMosquittoTests
{
    [TestMethod]
    [Timeout(45_000, CooperativeCancellation = true)]
    public async Task SubscriberReceivesForecasts_AndABrokerRestartLosesNothing()
    {
        if (!DeviceTestSupport.HasBinary("mosquitto")) SkippedTests.Inconclusive(SkippedTests.Mosquitto, "mosquitto is not installed");
        var dir = TestPaths.NewTempDir();
        using var broker = new MosquittoBroker(dir, DeviceTestSupport.FreeLoopbackPort());
        await broker.StartAsync();
        await using var subscriber = new MqttTestSubscriber(broker.Port);
        await subscriber.ConnectAsync(TimeSpan.FromSeconds(5));

        var meta = DeviceTestSupport.Metadata(["a", "b"], 60, 2,
            new JsonObject { ["kind"] = "minmax", ["min"] = new JsonArray(0, 100), ["max"] = new JsonArray(10, 200) });
        var model = EdgeModel.Load(DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0.1f, 0f], meta));
        var spec = ModelSpecReader.Read(model, new RunConfig()).Spec;
        var counters = new DeviceCounters();
        var pipeline = new ForecastPipeline(spec, PipelineStream.Open(model, spec, null, null, null), new PipelineOptions(), counters);
        var mqtt = new MqttSink(new MqttSettings("127.0.0.1", broker.Port, "testpi", HomeAssistant: true, Retain: false), spec);
        var sink = new BufferedSink(mqtt, 100, new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500)), DeviceTestSupport.Log);
        var source = new HandSource();
        var runner = new EdgeRunner(pipeline, source, [sink], counters, DeviceTestSupport.Log, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(stop.Token);
        var t0 = new DateTimeOffset(2026, 3, 21, 10, 0, 0, TimeSpan.Zero);
        try
        {
            source.Push(t0, 2, 150);
            source.Push(t0.AddMinutes(1), 4, 170);
            source.Push(t0.AddMinutes(2), 6, 190);
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => subscriber.StateSequences().Length == 2, TimeSpan.FromSeconds(10)), runner.Summary());
            var topics = subscriber.Got.Select(m => m.Topic).ToHashSet();
            foreach (var t in new[] { "edge/testpi/status", "edge/testpi/forecast/a", "edge/testpi/forecast/b", "homeassistant/sensor/testpi/a_forecast/config" })
                Assert.Contains(t, topics);
            Assert.AreEqual(4f, float.Parse(subscriber.Got.First(m => m.Topic == "edge/testpi/forecast/a").Payload, CultureInfo.InvariantCulture), 1e-4f);
            var discovery = JsonDocument.Parse(subscriber.Got.First(m => m.Topic == "homeassistant/sensor/testpi/b_forecast/config").Payload).RootElement;
            Assert.AreEqual("edge/testpi/forecast/b", discovery.GetProperty("state_topic").GetString());
            Assert.AreEqual("u", discovery.GetProperty("unit_of_measurement").GetString());

            // The broker goes away; forecasts made meanwhile are held by the sink.
            broker.Stop();
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => !subscriber.IsConnected, TimeSpan.FromSeconds(5)));
            source.Push(t0.AddMinutes(3), 8, 180);
            source.Push(t0.AddMinutes(4), 9, 160);
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => sink.Failures >= 1 && counters.Forecasts == 4, TimeSpan.FromSeconds(5)), runner.Summary());
            Assert.AreEqual(0, sink.Dropped);

            await broker.StartAsync();
            await subscriber.ConnectAsync(TimeSpan.FromSeconds(5));
            source.Push(t0.AddMinutes(5), 7, 150);
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => subscriber.StateSequences().Length == 5, TimeSpan.FromSeconds(10)),
                $"got {string.Join(",", subscriber.StateSequences())}; {runner.Summary()}");
            CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4 }, subscriber.StateSequences());
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10));
            await sink.DisposeAsync();
        }
        Assert.AreEqual(5, sink.Delivered);
        Assert.AreEqual(0, sink.Dropped);
    }
}

/// <summary>mosquitto on a loopback port, with persistence (a subscriber's session and its queued QoS 1 messages survive a restart).</summary>
internal sealed class MosquittoBroker : IDisposable
{
    private readonly string _config;
    private Process? _process;

    public MosquittoBroker(string dir, int port)
    {
        Port = port;
        // Persistence keeps the subscriber's session (and the QoS 1 messages queued for it) across
        // the restart, as a real home broker configured for it would.
        _config = Path.Combine(dir, "mosquitto.conf");
        File.WriteAllText(_config, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {dir}/
            log_dest none

            """);
    }

    public int Port { get; }

    public async Task StartAsync()
    {
        _process = DeviceTestSupport.Start("mosquitto", "-c", _config);
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(Listening, TimeSpan.FromSeconds(5)), "mosquitto did not start listening");
    }

    private bool Listening()
    {
        try
        {
            using var c = new TcpClient();
            c.Connect("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Stop()
    {
        if (_process is null) return;
        DeviceTestSupport.Terminate(_process);
        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();
}

internal sealed class MqttTestSubscriber : IAsyncDisposable
{
    private readonly MqttClientFactory _factory = new();
    private readonly IMqttClient _client;
    private readonly int _port;

    public MqttTestSubscriber(int port)
    {
        _port = port;
        _client = _factory.CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Got.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString()));
            return Task.CompletedTask;
        };
    }

    public ConcurrentQueue<(string Topic, string Payload)> Got { get; } = new();

    public bool IsConnected => _client.IsConnected;

    public async Task ConnectAsync(TimeSpan timeout)
    {
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _port).WithClientId("edge-test-subscriber").WithCleanSession(false).Build();
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await _client.ConnectAsync(options);
                break;
            }
            catch (Exception) when (sw.Elapsed < timeout)
            {
                await Task.Delay(50);
            }
        }
        await _client.SubscribeAsync(_factory.CreateSubscribeOptionsBuilder()
            .WithTopicFilter("edge/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("homeassistant/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
    }

    /// <summary>The distinct sequence numbers of the forecasts device testpi published on its state topic.</summary>
    public long[] StateSequences() => Got.Where(m => m.Topic == "edge/testpi/state")
        .Select(m => JsonDocument.Parse(m.Payload).RootElement.GetProperty("seq").GetInt64()).Distinct().Order().ToArray();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected) await _client.DisconnectAsync();
        }
        catch (Exception)
        {
            // the broker may already be gone
        }
        _client.Dispose();
    }
}
