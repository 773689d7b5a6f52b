using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format byte for byte as Hugging Face's <c>safetensors</c> library does:
/// 8-byte little-endian header length, compact JSON header padded with spaces to a multiple of 8, then the tensors'
/// bytes back to back, ordered by descending dtype rank, then name (so a file from PyTorch and one from here are identical).
/// </summary>
public static class SafeTensors
{
    /// <summary>The metadata transformers writes, which tells loaders the tensors are PyTorch's.</summary>
    public static IReadOnlyDictionary<string, string> PyTorchMetadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };


    // Name, element size and rank in the reference implementation's Dtype enum (higher ranks are written first).
    static readonly Dictionary<ScalarType, (string Name, int Size, int Rank)> Dtypes = new()
    {
        [ScalarType.Bool] = ("BOOL", 1, 0),
        [ScalarType.Byte] = ("U8", 1, 4),
        [ScalarType.Int8] = ("I8", 1, 5),
        [ScalarType.Int16] = ("I16", 2, 11),
        [ScalarType.Float16] = ("F16", 2, 13),
        [ScalarType.BFloat16] = ("BF16", 2, 14),
        [ScalarType.Int32] = ("I32", 4, 15),
        [ScalarType.Float32] = ("F32", 4, 17),
        [ScalarType.Float64] = ("F64", 8, 19),
        [ScalarType.Int64] = ("I64", 8, 20),
    };
    static readonly Dictionary<string, ScalarType> ByName = Dtypes.ToDictionary(p => p.Value.Name, p => p.Key);

    /// <summary>The safetensors dtype name of <paramref name="type"/>, e.g. F32.</summary>
    public static string DtypeName(ScalarType type) => Dtypes.TryGetValue(type, out var d) ? d.Name
        : throw new NotSupportedException($"dtype {type} has no safetensors name here; convert the tensor to one of {string.Join(", ", ByName.Keys)}.");

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> through a temporary file renamed into place,
    /// so a crash leaves either the old file or the complete new one. The data is flushed to disk before the rename.
    /// </summary>
    /// <param name="floatDtype">when set, floating-point tensors are converted to it one at a time as they are written</param>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        ScalarType? floatDtype = null)
    {
        string tmp = $"{path}.tmp-{Environment.ProcessId}";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(stream, tensors, metadata, floatDtype);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Writes the safetensors bytes of <paramref name="tensors"/> to <paramref name="stream"/>; metadata defaults to {"format":"pt"}.</summary>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        ScalarType? floatDtype = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not.");
        ScalarType Stored(Tensor t) => floatDtype is { } f && t.is_floating_point() ? f : t.dtype;
        var ordered = tensors
            .Select(p => (p.Key, Tensor: p.Value, Dtype: Dtypes.TryGetValue(Stored(p.Value), out var d) ? d
                : throw new NotSupportedException($"tensor '{p.Key}': dtype {p.Value.dtype} cannot be written to safetensors here; convert it first.")))
            .OrderByDescending(t => t.Dtype.Rank)
            .ThenBy(t => t.Key, Utf8Order.Instance)
            .ToList();

        var header = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in (metadata ?? PyTorchMetadata).OrderBy(p => p.Key, StringComparer.Ordinal))
                json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, tensor, dtype) in ordered)
            {
                long bytes = tensor.numel() * dtype.Size;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.Name);
                json.WriteStartArray("shape");
                foreach (long d in tensor.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padded = (header.WrittenCount + 7) / 8 * 8; // data then starts 8-aligned, as the reference implementation requires
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(header.WrittenSpan);
        for (int i = header.WrittenCount; i < padded; i++) stream.WriteByte((byte)' ');

        foreach (var (_, tensor, _) in ordered)
        {
            if (tensor.numel() == 0) continue;
            using var scope = NewDisposeScope();
            var cpu = tensor.detach().cpu().to(Stored(tensor)).contiguous();
            stream.Write(cpu.bytes); // straight from libtorch's buffer, no managed copy
        }
    }

    /// <summary>Reads and validates the header of <paramref name="path"/> without reading tensor data.</summary>
    /// <exception cref="InvalidDataException">The file is not well-formed; the message names the file, the tensor and the problem.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var handle = File.OpenHandle(path);
        return SafeTensorsReader.ReadHeader(handle, path);
    }

    /// <summary>Reads every tensor of <paramref name="path"/> onto the CPU; the caller owns (and disposes) them.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var handle = File.OpenHandle(path);
        var header = SafeTensorsReader.ReadHeader(handle, path);
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var info in header.Tensors) result[info.Name] = SafeTensorsReader.ReadTensor(handle, header, info);
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>Reads one tensor described by <paramref name="header"/>; the caller owns it.</summary>
    public static Tensor LoadTensor(SafeTensorsHeader header, SafeTensorInfo info)
    {
        using var handle = File.OpenHandle(header.Path);
        return SafeTensorsReader.ReadTensor(handle, header, info);
    }

    internal static bool TryGetDtype(string name, out ScalarType type, out int size)
    {
        size = 0;
        if (!ByName.TryGetValue(name, out type)) return false;
        size = Dtypes[type].Size;
        return true;
    }

    internal static IEnumerable<string> KnownDtypes => ByName.Keys;

    /// <summary>Rust compares strings by UTF-8 bytes; UTF-16 ordinal order differs above U+E000.</summary>
    sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();
        public int Compare(string? x, string? y) =>
            Encoding.UTF8.GetBytes(x ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? ""));
    }
}
