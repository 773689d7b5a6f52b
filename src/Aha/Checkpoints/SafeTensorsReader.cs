using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>Parsing and validation behind <see cref="SafeTensors"/>: every check the reference implementation makes, each with its own message.</summary>
static class SafeTensorsReader
{
    const long MaxHeaderBytes = 100_000_000;
    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    static InvalidDataException Bad(string path, string problem) =>
        new($"{path}: {problem}. The file is damaged or not safetensors; save it again or restore it from a copy.");

    public static SafeTensorsHeader ReadHeader(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw Bad(path, $"truncated: {fileLength} bytes, but a safetensors file starts with an 8-byte header length");
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(handle, prefix, 0);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes)
            throw Bad(path, $"header length {n} is larger than the {MaxHeaderBytes} bytes safetensors allows");
        if ((long)n > fileLength - 8)
            throw Bad(path, $"header length {n} runs past the end of the file ({fileLength} bytes); the file is truncated");

        var headerBytes = new byte[n];
        ReadExactly(handle, headerBytes, 8);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(StrictUtf8.GetString(headerBytes)); }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            throw Bad(path, $"header is not valid UTF-8 JSON ({e.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad(path, $"header is a JSON {doc.RootElement.ValueKind}, expected an object of tensors");
            long dataStart = 8 + (long)n, dataLength = fileLength - dataStart;
            var metadata = new Dictionary<string, string>();
            var tensors = new List<SafeTensorInfo>();
            var seen = new HashSet<string>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw Bad(path, $"tensor '{property.Name}' appears twice in the header");
                if (property.Name == "__metadata__") ReadMetadata(property.Value, metadata, path);
                else tensors.Add(ReadEntry(property.Name, property.Value, dataLength, path));
            }
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            CheckLayout(tensors, dataLength, path);
            return new SafeTensorsHeader(path, metadata, tensors, dataStart);
        }
    }

    static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not an object of strings");
        foreach (var p in value.EnumerateObject())
            metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
                : throw Bad(path, $"__metadata__.{p.Name} is a {p.Value.ValueKind}, expected a string");
    }

    static SafeTensorInfo ReadEntry(string name, JsonElement value, long dataLength, string path)
    {
        string where = $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, $"{where} is a JSON {value.ValueKind}, expected an object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad(path, $"{where} has no \"dtype\" string");
        string dtype = dtypeElement.GetString()!;
        if (!SafeTensors.TryGetDtype(dtype, out _, out int size))
            throw Bad(path, $"{where} has unknown dtype '{dtype}' (known here: {string.Join(", ", SafeTensors.KnownDtypes)})");
        long[] shape = ReadIntegers(value, "shape", where, path);
        long[] offsets = ReadIntegers(value, "data_offsets", where, path);
        if (offsets.Length != 2) throw Bad(path, $"{where} has {offsets.Length} data_offsets, expected [begin, end]");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin) throw Bad(path, $"{where} has data_offsets [{begin}, {end}] that end before they begin");
        if (end > dataLength)
            throw Bad(path, $"{where} has data_offsets [{begin}, {end}] beyond the {dataLength} data bytes in the file (truncated?)");
        long expected = size;
        try { foreach (long d in shape) expected = checked(expected * d); }
        catch (OverflowException) { throw Bad(path, $"{where} has a shape whose size overflows"); }
        var info = new SafeTensorInfo(name, dtype, shape, begin, end);
        if (end - begin != expected)
            throw Bad(path, $"{where} has {end - begin} bytes (data_offsets [{begin}, {end}]) but {dtype} {info.ShapeText} needs {expected}");
        return info;
    }

    static long[] ReadIntegers(JsonElement value, string field, string where, string path)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"{where} has no \"{field}\" array");
        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result[i] = item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out long v) && v >= 0 ? v
                : throw Bad(path, $"{where}: {field}[{i}] is {item.GetRawText()}, expected a non-negative integer");
            i++;
        }
        return result;
    }

    /// <summary>Tensors must tile the data section exactly, as the reference loader demands, so each byte belongs to one tensor.</summary>
    static void CheckLayout(List<SafeTensorInfo> sorted, long dataLength, string path)
    {
        long expectedBegin = 0;
        string previous = "the start of the data";
        foreach (var t in sorted)
        {
            if (t.Begin < expectedBegin)
                throw Bad(path, $"tensor '{t.Name}' (bytes {t.Begin}..{t.End}) overlaps {previous} (which ends at {expectedBegin})");
            if (t.Begin > expectedBegin)
                throw Bad(path, $"{t.Begin - expectedBegin} bytes between {previous} and tensor '{t.Name}' belong to no tensor");
            expectedBegin = t.End;
            previous = $"tensor '{t.Name}'";
        }
        if (expectedBegin != dataLength)
            throw Bad(path, $"the tensors cover {expectedBegin} data bytes but the file has {dataLength} (extra bytes at the end)");
    }

    public static Tensor ReadTensor(SafeFileHandle handle, SafeTensorsHeader header, SafeTensorInfo info)
    {
        SafeTensors.TryGetDtype(info.Dtype, out var type, out _);
        var tensor = empty(info.Shape, type);
        try
        {
            // Read straight into libtorch's buffer: no managed copy, no per-element work.
            if (info.End > info.Begin) ReadExactly(handle, tensor.bytes, header.DataStart + info.Begin);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            int read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0) throw new EndOfStreamException($"file ended at byte {offset} while {buffer.Length} more were expected (was it truncated while open?).");
            buffer = buffer[read..];
            offset += read;
        }
    }
}
