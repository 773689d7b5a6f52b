using System.Text;

namespace Aha.Export;

/// <summary>The tensor encodings Aha writes into GGUF files (values are ggml's <c>ggml_type</c> numbers).</summary>
public enum GgufTensorType
{
    /// <summary>32-bit floats.</summary>
    F32 = 0,
    /// <summary>IEEE half precision, rounded to nearest even.</summary>
    F16 = 1,
    /// <summary>Blocks of 32 values: one f16 scale d = max|x|/127, then 32 signed bytes round(x/d).</summary>
    Q8_0 = 8,
}

/// <summary>
/// Writes a GGUF v3 file: header, typed metadata key/values, tensor infos, then the tensor data, each aligned to
/// <see cref="Alignment"/> bytes. Tensors are pulled from their sources while the file is written, so a model larger than
/// memory twice over still exports; the file appears under its name only when complete.
/// </summary>
public sealed class GgufWriter
{
    /// <summary>general.alignment's default, which Aha keeps (and so does not write the key).</summary>
    public const int Alignment = 32;
    /// <summary>Values per Q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }

    readonly List<(string Key, ValueType Type, object Value)> _metadata = [];
    readonly List<Tensor> _tensors = [];

    sealed record Tensor(string Name, long[] Shape, GgufTensorType Type, Func<float[]> Data)
    {
        public long Rows => Shape.Length == 1 ? 1 : Shape[..^1].Aggregate(1L, (a, b) => a * b);
        public long Columns => Shape[^1];
        public long ByteCount => Type switch
        {
            GgufTensorType.F32 => Rows * Columns * 4,
            GgufTensorType.F16 => Rows * Columns * 2,
            _ => Rows * (Columns / Q8BlockSize) * (2 + Q8BlockSize),
        };
    }

    /// <summary>A uint32 value (lengths, counts, token ids).</summary>
    public void Add(string key, uint value) => Put(key, ValueType.UInt32, value);
    /// <summary>A float32 value (rope base, norm epsilon).</summary>
    public void Add(string key, float value) => Put(key, ValueType.Float32, value);
    /// <summary>A bool value.</summary>
    public void Add(string key, bool value) => Put(key, ValueType.Bool, value);
    /// <summary>A UTF-8 string value.</summary>
    public void Add(string key, string value) => Put(key, ValueType.String, value);
    /// <summary>An array of strings (tokens, merges); may be empty.</summary>
    public void Add(string key, IReadOnlyList<string> values) => Put(key, ValueType.Array, values);
    /// <summary>An array of int32 (token types).</summary>
    public void Add(string key, IReadOnlyList<int> values) => Put(key, ValueType.Array, values);

    void Put(string key, ValueType type, object value)
    {
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"GGUF metadata key '{key}' is written twice.", nameof(key));
        _metadata.Add((key, type, value));
    }

    /// <summary>
    /// Adds a tensor of PyTorch shape <paramref name="shape"/> (rows first) whose row-major float32 values
    /// <paramref name="data"/> returns when the file is written. Q8_0 needs a last dimension divisible by 32.
    /// </summary>
    public void AddTensor(string name, long[] shape, GgufTensorType type, Func<float[]> data)
    {
        if (shape.Length is < 1 or > 4) throw new ArgumentException($"tensor {name}: GGUF holds 1 to 4 dimensions, not {shape.Length}.", nameof(shape));
        if (type == GgufTensorType.Q8_0 && shape[^1] % Q8BlockSize != 0)
            throw new ArgumentException($"tensor {name}: Q8_0 needs rows of a multiple of {Q8BlockSize} values (got {shape[^1]}); write it as F16.", nameof(type));
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor {name} is added twice.", nameof(name));
        _tensors.Add(new Tensor(name, shape, type, data));
    }

    /// <summary>Writes the file to <paramref name="path"/> through a temporary file beside it; returns the bytes written.</summary>
    public long Write(string path)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                WriteHeader(w);
                foreach (var tensor in _tensors)
                {
                    Pad(w);
                    long before = stream.Position;
                    WriteData(w, tensor);
                    if (stream.Position - before != tensor.ByteCount)
                        throw new InvalidOperationException($"tensor {tensor.Name}: wrote {stream.Position - before} bytes, expected {tensor.ByteCount}.");
                }
                w.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
            return new FileInfo(full).Length;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    void WriteHeader(BinaryWriter w)
    {
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, type, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            switch (value)
            {
                case uint u: w.Write(u); break;
                case float f: w.Write(f); break;
                case bool b: w.Write(b ? (byte)1 : (byte)0); break;
                case string s: WriteString(w, s); break;
                case IReadOnlyList<string> strings:
                    w.Write((uint)ValueType.String);
                    w.Write((ulong)strings.Count);
                    foreach (var s in strings) WriteString(w, s);
                    break;
                case IReadOnlyList<int> ints:
                    w.Write((uint)ValueType.Int32);
                    w.Write((ulong)ints.Count);
                    foreach (int i in ints) w.Write(i);
                    break;
            }
        }
        long offset = 0;
        foreach (var tensor in _tensors)
        {
            WriteString(w, tensor.Name);
            w.Write((uint)tensor.Shape.Length);
            // ggml lists dimensions innermost first: PyTorch's (rows, columns) is ne = [columns, rows].
            for (int d = tensor.Shape.Length - 1; d >= 0; d--) w.Write((ulong)tensor.Shape[d]);
            w.Write((uint)tensor.Type);
            w.Write((ulong)offset);
            offset = AlignUp(offset + tensor.ByteCount);
        }
    }

    static void WriteData(BinaryWriter w, Tensor tensor)
    {
        float[] values = tensor.Data();
        if (values.LongLength != tensor.Rows * tensor.Columns)
            throw new InvalidOperationException($"tensor {tensor.Name}: its source gave {values.LongLength} values for shape [{string.Join(", ", tensor.Shape)}].");
        switch (tensor.Type)
        {
            case GgufTensorType.F32:
                w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
                break;
            case GgufTensorType.F16:
                w.Write(GgufQuantization.ToF16(values));
                break;
            case GgufTensorType.Q8_0:
                w.Write(GgufQuantization.ToQ8_0(values));
                break;
        }
    }

    static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    static long AlignUp(long n) => (n + Alignment - 1) / Alignment * Alignment;

    static void Pad(BinaryWriter w)
    {
        long position = w.BaseStream.Position;
        for (long i = position; i < AlignUp(position); i++) w.Write((byte)0);
    }
}
