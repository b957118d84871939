using System.IO.Ports;
using System.Threading.Channels;
using Edge.Device.Pipeline;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Sources;

public sealed record SerialSettings(string Port, int Baud = 9600, Parity Parity = Parity.None, int DataBits = 8, StopBits StopBits = StopBits.One);

/// <summary>
/// Lines from a serial port (System.IO.Ports). The port is opened here, in hosting code; the parsing
/// lives in <see cref="BoundedLineReader"/> and the <see cref="ILineParser"/>s, which only see a Stream.
/// When the device goes away (USB unplugged: the read fails, or the device node disappears) the port
/// is closed and reopened with exponential back-off until it comes back.
/// </summary>
public sealed class SerialPortSource : ISampleSource
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(250);
    private readonly SerialSettings _settings;
    private readonly LineSampleReader _reader;
    private readonly int _maxLineLength;
    private readonly Backoff _backoff;
    private readonly DeviceCounters _counters;
    private readonly ILogger _logger;
    private readonly LogLimiter _log;
    private readonly ArrivalWatch? _watch;
    private bool _afterOutage;

    public SerialPortSource(SerialSettings settings, LineSampleReader reader, int maxLineLength, Backoff backoff, DeviceCounters counters, ILogger logger,
        ArrivalWatch? watch = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(backoff);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(logger);
        _settings = settings;
        _reader = reader;
        _maxLineLength = maxLineLength;
        _backoff = backoff;
        _counters = counters;
        _logger = logger;
        _log = new LogLimiter(logger, TimeSpan.FromSeconds(30));
        _watch = watch;
    }

    public bool Periodic => false;

    /// <summary>True while the port is open and being read.</summary>
    public bool Connected => Volatile.Read(ref _connected);

    private bool _connected;

    public async Task RunAsync(ChannelWriter<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        bool connectedBefore = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            SerialPort? port = null;
            try
            {
                port = new SerialPort(_settings.Port, _settings.Baud, _settings.Parity, _settings.DataBits, _settings.StopBits)
                {
                    Handshake = Handshake.None,
                    ReadTimeout = SerialPort.InfiniteTimeout,
                };
                port.Open();
                if (connectedBefore)
                {
                    // The first reading after this is marked: the pipeline restarts its window there.
                    _afterOutage = true;
                    _counters.Add(ref _counters.Reconnects);
                    _logger.LogInformation("serial {Port}: reconnected", _settings.Port);
                }
                else _logger.LogInformation("serial {Port}: open at {Baud} baud", _settings.Port, _settings.Baud);
                connectedBefore = true;
                _backoff.Reset();
                Volatile.Write(ref _connected, true);
                await ReadPortAsync(port, output, cancellationToken).ConfigureAwait(false);
                if (!cancellationToken.IsCancellationRequested)
                {
                    _counters.Add(ref _counters.SourceErrors);
                    _logger.LogWarning("serial {Port}: the device went away", _settings.Port);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ObjectDisposedException or ArgumentException or OperationCanceledException)
            {
                _counters.Add(ref _counters.SourceErrors);
                _log.Warn("open", $"{Describe(_settings.Port, e)}; retrying");
            }
            finally
            {
                Volatile.Write(ref _connected, false);
                port?.Dispose();
            }
            if (cancellationToken.IsCancellationRequested) break;
            try { await Task.Delay(_backoff.Next(), cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    private async Task ReadPortAsync(SerialPort port, ChannelWriter<Sample> output, CancellationToken cancellationToken)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Closing the port is what reliably ends a pending read on every platform.
        using var unblock = connection.Token.Register(static p => ((SerialPort)p!).Dispose(), port);
        var watch = WatchDeviceAsync(connection);
        try
        {
            var lines = new BoundedLineReader(port.BaseStream, _maxLineLength, partialLastLineIsLine: false);
            while (true)
            {
                LineResult line;
                try { line = await lines.ReadLineAsync(connection.Token).ConfigureAwait(false); }
                catch (Exception) when (connection.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    return; // the watchdog saw the device disappear
                }
                if (line.Status == LineStatus.End) return;
                if (line.Status == LineStatus.Line) _watch?.Line(line.Text);
                if (_reader.TryConvert(line, out var sample))
                {
                    _watch?.Reading(sample.Values);
                    if (_afterOutage)
                    {
                        sample = sample with { AfterOutage = true };
                        _afterOutage = false;
                    }
                    await output.WriteAsync(sample, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A USB adapter that is unplugged takes its device node with it; some drivers (and a pty whose
    /// other end closed) leave a blocked read hanging instead of failing it, so the node is watched too.
    /// </summary>
    private async Task WatchDeviceAsync(CancellationTokenSource connection)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        try
        {
            while (!connection.IsCancellationRequested)
            {
                await Task.Delay(WatchInterval, connection.Token).ConfigureAwait(false);
                if (!DeviceExists(_settings.Port))
                {
                    await connection.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Why a port could not be opened, in words: System.IO.Ports reports a device node that does not
    /// exist as "Access to the port is denied", which sends users after permissions that are fine.
    /// </summary>
    internal static string Describe(string port, Exception e)
    {
        if (!DeviceExists(port)) return $"serial port {port}: no such device";
        if (e is UnauthorizedAccessException)
            return $"serial port {port}: permission denied (serial ports belong to the dialout group: sudo usermod -aG dialout $USER, then log in again)";
        return $"serial port {port}: {e.Message}";
    }

    /// <summary>The device node, following a symlink (udev's /dev/serial/by-id names, socat's links) to its end.</summary>
    internal static bool DeviceExists(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is null) return info.Exists;
            return info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
