namespace Edge.Device.Sources.Sensors;

/// <summary>
/// A physical sensor read once per model period. It writes its readings into the sample's feature
/// slots (it was told its indices when created) and leaves the others alone. False means "no
/// reading this time" (a DHT22 checksum miss); an exception means the bus failed, and the source
/// retries the sensor with back-off, reopening it (a re-plugged sensor comes back unconfigured).
/// </summary>
public interface ISensor : IDisposable
{
    string Name { get; }

    bool TryRead(Span<float> values);
}

/// <summary>Holds a binding created on first use and dropped after a failure so that the next read reopens and reconfigures it.</summary>
public abstract class BindingSensor<T> : ISensor where T : class, IDisposable
{
    private T? _device;

    public abstract string Name { get; }

    protected abstract T Open();

    protected abstract bool Read(T device, Span<float> values);

    public bool TryRead(Span<float> values)
    {
        var device = _device ??= Open();
        try
        {
            return Read(device, values);
        }
        catch
        {
            Close();
            throw;
        }
    }

    private void Close()
    {
        var d = _device;
        _device = null;
        try { d?.Dispose(); }
        catch (IOException) { } // a bus that is already gone may fail to close too
    }

    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }
}
