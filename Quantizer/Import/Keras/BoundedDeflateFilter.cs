using System.IO.Compression;
using PureHDF.Filters;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// The deflate filter PureHDF uses to read compressed chunks, registered in place of its own: PureHDF's
/// inflates a chunk to whatever the stream holds (64 MiB from 64 KB of a hostile file, and it keeps it), so
/// this one inflates into a buffer of the chunk's declared size and refuses a chunk that holds more. The
/// chunk's size itself is bounded by <see cref="BoundedHdf5Stream"/> (a chunk larger than the file is
/// refused before PureHDF allocates it).
/// </summary>
internal sealed class BoundedDeflateFilter : IH5Filter
{
    public ushort FilterId => DeflateFilter.Id;

    public string Name => "deflate";

    public Memory<byte> Filter(FilterInfo info)
    {
        if (!info.Flags.HasFlag(H5FilterFlags.Decompress))
            throw new NotSupportedException("Edge reads HDF5 files; it does not write them");
        var output = new byte[Math.Max(info.ChunkSize, 0)];
        using var z = new ZLibStream(new MemoryStream(info.Buffer.ToArray(), writable: false), CompressionMode.Decompress);
        int got = z.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
        Span<byte> one = stackalloc byte[1];
        if (z.Read(one) != 0)
            throw new InvalidDataException($"a deflate-compressed chunk inflates to more than its declared {info.ChunkSize} bytes");
        return output.AsMemory(0, got);
    }

    public uint[] GetParameters(uint[] chunkDimensions, uint typeSize, Dictionary<string, object>? options) =>
        throw new NotSupportedException("Edge reads HDF5 files; it does not write them");
}
