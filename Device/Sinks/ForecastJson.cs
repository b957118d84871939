using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Edge.Device.Pipeline;

namespace Edge.Device.Sinks;

/// <summary>
/// The JSON form of a forecast, shared by stdout, serial out and the MQTT state topic (one line each):
/// <code>
/// {"seq":12,"device":"pi-kitchen","time":"2026-03-21T10:05:00.000Z","latency_ms":0.41,
///  "actual":{"temperature":33.1,...},
///  "forecast":[{"step":1,"time":"2026-03-21T10:06:00.000Z","temperature":33.2,...}, ...]}
/// </code>
/// "actual" holds the newest input step (after gap filling); "forecast" holds the model's target
/// features per future step, in raw units; a step's "time" is absent when the period is unknown.
/// Non-finite numbers are written as null (JSON has no NaN).
/// </summary>
public static class ForecastJson
{
    public static byte[] Serialize(Forecast forecast, ModelSpec spec, string device, bool newline = false)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
            Write(w, forecast, spec, device);
        if (newline) buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(Utf8JsonWriter w, Forecast forecast, ModelSpec spec, string device)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(forecast);
        ArgumentNullException.ThrowIfNull(spec);
        w.WriteStartObject();
        w.WriteNumber("seq", forecast.Sequence);
        w.WriteString("device", device);
        w.WriteString("time", Time(forecast.Time));
        w.WriteNumber("latency_ms", Math.Round(forecast.LatencyMs, 3));
        w.WriteStartObject("actual");
        for (int i = 0; i < spec.Features.Count; i++) Number(w, spec.Features[i].Name, forecast.Actual[i]);
        w.WriteEndObject();
        w.WriteStartArray("forecast");
        int t = spec.Targets.Count;
        for (int s = 0; s < forecast.Steps; s++)
        {
            w.WriteStartObject();
            w.WriteNumber("step", s + 1);
            if (forecast.StepTime(s) is { } st) w.WriteString("time", Time(st));
            for (int j = 0; j < t; j++) Number(w, spec.Features[spec.Targets[j]].Name, forecast.Values[s * t + j]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Number(float v) => float.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static void Number(Utf8JsonWriter w, string name, float v)
    {
        if (float.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
