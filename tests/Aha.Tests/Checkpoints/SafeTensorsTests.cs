using System.Buffers.Binary;
using System.Text;
using Aha.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Checkpoints;

public class SafeTensorsTests
{
    static string Golden => Path.Combine(AppContext.BaseDirectory, "Checkpoints", "Golden", "tiny.safetensors");

    static Dictionary<string, Tensor> Tiny() => new()
    {
        ["a"] = arange(4, dtype: float32).reshape(2, 2),
        ["b"] = tensor(7L),
        ["c"] = tensor(new[] { 1.0f, -2.5f, 0.5f }).to(bfloat16),
        ["d"] = zeros(0, 3),
    };

    [Fact]
    public void A_tiny_dict_is_written_byte_for_byte_as_pytorch_safetensors_writes_it()
    {
        using var scope = NewDisposeScope();
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, Tiny());
        Assert.Equal(File.ReadAllBytes(Golden), stream.ToArray());
    }

    [Fact]
    public void The_golden_file_reads_back_with_its_values()
    {
        using var scope = NewDisposeScope();
        var loaded = SafeTensors.Load(Golden);
        Assert.Equal(["b", "a", "d", "c"], SafeTensors.ReadHeader(Golden).Tensors.Select(t => t.Name));
        Assert.Equal("pt", SafeTensors.ReadHeader(Golden).Metadata["format"]);
        foreach (var (name, expected) in Tiny())
        {
            Assert.Equal(expected.dtype, loaded[name].dtype);
            Assert.Equal(expected.shape, loaded[name].shape);
            Assert.True(expected.eq(loaded[name]).all().item<bool>(), name);
        }
    }

    public static TheoryData<string, ScalarType, long[]> Cases => new()
    {
        { "f32 matrix", ScalarType.Float32, [3, 5] },
        { "f64 vector", ScalarType.Float64, [7] },
        { "f16 cube", ScalarType.Float16, [2, 3, 4] },
        { "bf16", ScalarType.BFloat16, [4, 2] },
        { "i64", ScalarType.Int64, [6] },
        { "i32", ScalarType.Int32, [2, 2] },
        { "i16", ScalarType.Int16, [3] },
        { "i8", ScalarType.Int8, [5] },
        { "u8", ScalarType.Byte, [5] },
        { "bool", ScalarType.Bool, [9] },
        { "scalar", ScalarType.Float32, [] },
        { "empty", ScalarType.Float32, [0] },
        { "empty inside", ScalarType.Int64, [2, 0, 3] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tensors_round_trip_with_dtype_shape_and_values(string name, ScalarType dtype, long[] shape)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        var gen = new Generator(42);
        var original = (dtype is ScalarType.Bool ? randint(0, 2, shape, generator: gen) : randn(shape, generator: gen).mul(50)).to(dtype);
        SafeTensors.Save(dir["x.safetensors"], new Dictionary<string, Tensor> { [name] = original, ["other"] = ones(3) });
        var loaded = SafeTensors.Load(dir["x.safetensors"]);
        Assert.Equal(dtype, loaded[name].dtype);
        Assert.Equal(shape, loaded[name].shape);
        Assert.True(original.eq(loaded[name]).all().item<bool>());
        Assert.Equal(["x.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName)); // no temporary left behind
    }

    [Fact]
    public void A_non_contiguous_tensor_is_written_in_logical_order()
    {
        using var scope = NewDisposeScope();
        using var stream = new MemoryStream();
        var t = arange(6, dtype: float32).reshape(2, 3).t();
        SafeTensors.Write(stream, new Dictionary<string, Tensor> { ["t"] = t });
        var bytes = stream.ToArray();
        var data = bytes.AsSpan(bytes.Length - 24);
        Assert.Equal([0f, 3f, 1f, 4f, 2f, 5f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray());
    }

    static byte[] FileWith(string header, int dataBytes, long? declaredLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)(declaredLength ?? json.Length));
        json.CopyTo(file, 8);
        return file;
    }

    public static TheoryData<string, byte[], string> CorruptFiles => new()
    {
        { "truncated", [1, 0, 0], "truncated: 3 bytes" },
        { "header length too large", FileWith("{}", 0, declaredLength: 500), "header length 500 runs past the end of the file" },
        { "absurd header length", FileWith("{}", 0, declaredLength: long.MaxValue), "larger than the 100000000 bytes" },
        { "bad json", FileWith("{\"a\":", 0), "header is not valid UTF-8 JSON" },
        { "not an object", FileWith("[1]", 0), "header is a JSON Array" },
        { "unknown dtype", FileWith("""{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}""", 4), "tensor 'a' has unknown dtype 'F99'" },
        { "offsets out of range", FileWith("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4), "tensor 'a' has data_offsets [0, 8] beyond the 4 data bytes" },
        { "wrong size", FileWith("""{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}""", 12), "tensor 'a' has 12 bytes (data_offsets [0, 12]) but F32 [2, 2] needs 16" },
        { "overlap", FileWith("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "tensor 'b' (bytes 4..12) overlaps tensor 'a'" },
        { "gap", FileWith("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "4 bytes between the start of the data and tensor 'a'" },
        { "trailing bytes", FileWith("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 9), "cover 4 data bytes but the file has 9" },
        { "end before begin", FileWith("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}""", 4), "end before they begin" },
        { "negative shape", FileWith("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}""", 0), "tensor 'a': shape[0] is -1" },
        { "missing shape", FileWith("""{"a":{"dtype":"F32","data_offsets":[0,0]}}""", 0), "tensor 'a' has no \"shape\" array" },
        { "duplicate", FileWith("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""", 0), "tensor 'a' appears twice" },
        { "bad metadata", FileWith("""{"__metadata__":{"format":1}}""", 0), "__metadata__.format is a Number" },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void A_corrupt_file_is_rejected_naming_the_file_and_the_problem(string what, byte[] bytes, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir[what.Replace(' ', '-') + ".safetensors"];
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith(path + ":", e.Message);
    }

    [Fact]
    public void A_file_cut_short_after_writing_is_rejected()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        SafeTensors.Save(dir["m.safetensors"], Tiny());
        var bytes = File.ReadAllBytes(dir["m.safetensors"]);
        File.WriteAllBytes(dir["m.safetensors"], bytes[..^3]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadHeader(dir["m.safetensors"]));
        Assert.Contains("tensor 'c' has data_offsets [24, 30] beyond the 27 data bytes", e.Message);
    }
}
