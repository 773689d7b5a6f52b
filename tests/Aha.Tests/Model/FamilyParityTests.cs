using Aha.Checkpoints;
using Aha.Generation;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>
/// Qwen2, Qwen3, Llama-with-llama3-RoPE-scaling and Mistral checkpoints (BF16, two shards) against the independent PyTorch
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

    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void Bfloat16_compute_stays_near_the_float32_reference(string family)
    {
        using var temp = new TempDirectory();
        using var model = ModelLoader.Load(FamilyGolden.Open(family, temp), dtype: bfloat16);
        Assert.All(model.parameters(), p => Assert.Equal(bfloat16, p.dtype));
        var (golden, _) = Golden.Read(Path.Combine(FamilyGolden.Folder(family), "expected.safetensors"));
        var log = new List<string>();
        using var noGrad = no_grad();
        using var logits = model.forward(golden["prompt.1"].unsqueeze(0)).squeeze(0); // (T, V) in bfloat16
        Assert.Equal(bfloat16, logits.dtype);
        // bfloat16 keeps 8 significant bits: logits of size ~3 carry rounding of ~1e-2 per operation.
        double maxDiff = Golden.AssertClose($"{family} bf16 logits.1", golden["logits.1"], logits, 0.25, log);
        output.WriteLine(log[0]);
        Assert.True(maxDiff > 0, "bfloat16 compute gave float32's exact logits: the dtype was not applied");
    }
}
