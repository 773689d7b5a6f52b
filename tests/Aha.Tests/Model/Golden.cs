using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>Reads the reference script's safetensors files (F32 and I64 only) and compares tensors llm.c-style.</summary>
static class Golden
{
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Model", "golden", name + ".safetensors");

    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        int dataStart = 8 + (int)headerLength;
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString()!;
                continue;
            }
            long[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var span = bytes.AsSpan(dataStart + offsets[0], offsets[1] - offsets[0]);
            tensors[entry.Name] = entry.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span).ToArray(), shape),
                "I64" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(span).ToArray(), shape),
                var d => throw new InvalidDataException($"{path}: tensor {entry.Name} has dtype {d}; the reader knows F32 and I64."),
            };
        }
        return (tensors, metadata);
    }

    /// <summary>Max absolute difference; fails with a `TENSOR NOT OK` line naming the tensor.</summary>
    public static double AssertClose(string name, Tensor expected, Tensor actual, double tolerance, ICollection<string> log)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = (expected.to(float32) - actual.detach().to(float32)).abs().max();
        double maxDiff = diff.item<float>();
        string line = $"{name}: TENSOR {(maxDiff <= tolerance ? "OK" : "NOT OK")}, maxdiff = {maxDiff:E2}";
        log.Add(line);
        Assert.True(maxDiff <= tolerance, string.Join("\n", log));
        return maxDiff;
    }
}
