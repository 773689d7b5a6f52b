using Aha.Checkpoints;
using Aha.Generation;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>
/// Qwen2, Qwen3 and Llama-with-llama3-RoPE-scaling checkpoints (BF16, two shards) against the independent PyTorch
/// reference tests/reference/families_reference.py: float32 logits and greedy continuations.
/// </summary>
public class FamilyParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void Logits_of_a_sharded_bf16_checkpoint_match_the_pytorch_reference_in_float32(string family)
    {
        using var temp = new TempDirectory();
        var checkpoint = FamilyGolden.Open(family, temp);
        using var model = ModelLoader.Load(checkpoint);
        Assert.Equal(float32, model.parameters().First().dtype);
        var (golden, _) = Golden.Read(Path.Combine(FamilyGolden.Folder(family), "expected.safetensors"));
        var log = new List<string>();
        try
        {
            using var noGrad = no_grad();
            for (int i = 0; golden.ContainsKey($"prompt.{i}"); i++)
            {
                using var logits = model.forward(golden[$"prompt.{i}"].unsqueeze(0)).squeeze(0); // (T, V)
                Golden.AssertClose($"{family} logits.{i}", golden[$"logits.{i}"], logits, Tolerance, log);
            }
        }
        finally
        {
            foreach (var line in log) output.WriteLine(line);
        }
    }

    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void Greedy_continuations_over_the_kv_cache_are_the_reference_ids(string family)
    {
        using var temp = new TempDirectory();
        using var model = ModelLoader.Load(FamilyGolden.Open(family, temp));
        var (golden, _) = Golden.Read(Path.Combine(FamilyGolden.Folder(family), "expected.safetensors"));
        for (int i = 0; golden.ContainsKey($"prompt.{i}"); i++)
        {
            int[] prompt = golden[$"prompt.{i}"].data<long>().Select(x => (int)x).ToArray();
            long[] expected = golden[$"greedy.{i}"].data<long>().ToArray();
            var completion = new Engine(model).Generate([new GenerationRequest(prompt)],
                new SamplingOptions { Temperature = 0, MaxNewTokens = expected.Length })[0];
            Assert.Equal(expected, completion.TokenIds.Select(x => (long)x).ToArray());
        }
    }
}
