using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>The fused decode path (C# over the tensors' memory) against libtorch's, on every instruction set this CPU runs.</summary>
public class FusedDecoderTests
{
    public static TheoryData<string, DecodeIsa> Cases()
    {
        var data = new TheoryData<string, DecodeIsa>();
        foreach (var family in new[] { "llama", "llama_tied", "llama_biases", "qwen2", "qwen3", "head_dim_18" })
            foreach (var isa in DecodeKernels.Available) data.Add(family, isa);
        return data;
    }

    static ModelConfig Family(string name) => name switch
    {
        "llama" => TinyModels.Config(),
        "llama_tied" => TinyModels.Config(tied: true),
        "llama_biases" => TinyModels.Config() with { AttentionBias = true, MlpBias = true },
        "qwen2" => TinyModels.Config() with { ModelType = "qwen2" },
        "qwen3" => TinyModels.Config() with { ModelType = "qwen3" },
        // a head dim and hidden size that are no multiple of any vector width, MHA rather than GQA
        "head_dim_18" => TinyModels.Config() with { HiddenSize = 36, NumAttentionHeads = 2, NumKeyValueHeads = 2, IntermediateSize = 45 },
        _ => throw new ArgumentException(name),
    };

    static LlamaModel Model(string family)
    {
        var model = TinyModels.WithFormulaWeights(Family(family).Validate());
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters()) // biases and norms off their formula's constant so each one matters
            if (name.EndsWith("bias", StringComparison.Ordinal)) p.add_(0.05);
        return model;
    }

    // Left-padded prompts of lengths 5, 3 and 4, then decode steps fed the same tokens on both paths; the max logit difference.
    static float MaxDifference(LlamaModel model, DecodeIsa isa, int steps, out int fusedSteps)
    {
        using var inference = inference_mode();
        int[] lengths = [5, 3, 4];
        int width = 5, b = lengths.Length;
        var mask = Aha.Generation.Engine.AttentionMask(lengths, width, width + steps, CPU); // (B, capacity)
        var ids = tensor(Enumerable.Range(0, b * width).Select(i => (long)(i * 37 % 87 + 3)).ToArray(), [b, width]);
        var positions = (mask.narrow(1, 0, width).cumsum(-1) - 1).clamp_min(0);
        using var fusedCache = model.NewCache(b, width + steps);
        using var torchCache = model.NewCache(b, width + steps);
        model.FusedDecode = false;
        var first = model.LastLogits(ids, positions, mask.narrow(1, 0, width), fusedCache);
        model.LastLogits(ids, positions, mask.narrow(1, 0, width), torchCache);
        model.DecodeIsa = isa;
        var next = first.argmax(-1).unsqueeze(1);
        float worst = 0;
        fusedSteps = 0;
        for (int step = 0; step < steps; step++)
        {
            var position = tensor(lengths.Select(l => (long)(l + step)).ToArray(), [b, 1]);
            var stepMask = mask.narrow(1, 0, width + step + 1);
            model.FusedDecode = false;
            var expected = model.LastLogits(next, position, stepMask, torchCache);
            model.FusedDecode = true;
            long before = model.FusedSteps;
            var actual = model.LastLogits(next, position, stepMask, fusedCache);
            fusedSteps += (int)(model.FusedSteps - before);
            worst = Math.Max(worst, (actual - expected).abs().max().item<float>());
            next = expected.argmax(-1).unsqueeze(1);
        }
        return worst;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fused_decode_steps_give_libtorchs_logits_within_1e_5(string family, DecodeIsa isa)
    {
        using var model = Model(family);
        float worst = MaxDifference(model, isa, steps: 6, out int fused);
        Assert.Equal(6, fused);
        Assert.True(worst < 1e-5f, $"{family} on {isa}: max logit difference {worst}");
    }

    [Fact]
    public void A_fused_step_creates_a_few_tensors_not_hundreds()
    {
        using var model = Model("llama");
        using var inference = inference_mode();
        using var cache = model.NewCache(1, 8);
        var prompt = tensor(new long[] { 5, 6, 7 }, [1, 3]);
        model.LastLogits(prompt, cache: cache);
        var created = TorchSharp.DisposeScopeManager.Statistics.CreatedOutsideScopeCount + TorchSharp.DisposeScopeManager.Statistics.CreatedInScopeCount;
        var logits = model.LastLogits(tensor(new long[] { 9 }, [1, 1]), cache: cache);
        var after = TorchSharp.DisposeScopeManager.Statistics.CreatedOutsideScopeCount + TorchSharp.DisposeScopeManager.Statistics.CreatedInScopeCount;
        Assert.Equal(4, cache.Length);
        Assert.True(after - created < 10, $"a fused step created {after - created} tensors; libtorch's path creates hundreds");
        Assert.Equal([1L, 96L], logits.shape);
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void A_rows_logits_do_not_depend_on_its_batch_mates(DecodeIsa isa)
    {
        using var model = Model("qwen2");
        model.DecodeIsa = isa;
        using var inference = inference_mode();
        long[] prompt = [4, 8, 15, 16, 23];
        // Every step fused, from an empty cache, so no libtorch prefill (whose GEMM may block by batch) is involved.
        Tensor Alone(int mates)
        {
            using var cache = model.NewCache(1 + mates, prompt.Length);
            Tensor logits = null!;
            for (int t = 0; t < prompt.Length; t++)
            {
                var ids = Enumerable.Range(0, 1 + mates).Select(r => r == 0 ? prompt[t] : (prompt[t] * (r + 3) + t) % 90 + 3).ToArray();
                logits = model.LastLogits(tensor(ids, [1 + mates, 1]), cache: cache);
            }
            return logits.narrow(0, 0, 1).clone();
        }
        var single = Alone(0);
        foreach (int mates in new[] { 1, 4, 8 })
            Assert.True((Alone(mates) == single).all().item<bool>(), $"{isa}: row 0's logits changed with {mates} batch mates");
    }

    public static TheoryData<DecodeIsa> Isas() => new(DecodeKernels.Available);

    [Theory]
    [MemberData(nameof(Isas))]
    public void Decoding_over_the_fused_cache_gives_the_logits_of_a_full_recomputation(DecodeIsa isa)
    {
        using var model = Model("qwen3");
        model.DecodeIsa = isa;
        using var inference = inference_mode();
        long[] sequence = [3, 14, 15, 92, 65, 35, 89, 79];
        using var cache = model.NewCache(1, sequence.Length);
        model.LastLogits(tensor(sequence[..3], [1, 3]), cache: cache);
        for (int t = 3; t < sequence.Length; t++)
        {
            var cached = model.LastLogits(tensor(new[] { sequence[t] }, [1, 1]), cache: cache);
            model.FusedDecode = false;
            var full = model.LastLogits(tensor(sequence[..(t + 1)], [1, t + 1]));
            model.FusedDecode = true;
            float diff = (cached - full).abs().max().item<float>();
            Assert.True(diff < 1e-5f, $"{isa}, position {t}: {diff}");
        }
    }

    [Fact]
    public void Bf16_weights_decode_close_to_fp32_and_the_copy_is_refreshed_on_request()
    {
        using var model = Model("llama");
        using var inference = inference_mode();
        Tensor Step()
        {
            using var cache = model.NewCache(1, 4); // every step fused: no libtorch prefill reads the fp32 weights
            Tensor logits = null!;
            foreach (long id in new long[] { 5, 6, 7, 9 }) logits = model.LastLogits(tensor(new[] { id }, [1, 1]), cache: cache);
            return logits.clone();
        }
        var fp32 = Step();
        model.DecodeWeights = DecodeWeights.BFloat16;
        var bf16 = Step();
        float diff = (bf16 - fp32).abs().max().item<float>();
        float scale = fp32.abs().max().item<float>();
        Assert.True(diff > 0 && diff < 0.05f * scale, $"bf16 differs from fp32 by {diff} (largest logit {scale})");
        foreach (var (name, p) in model.named_parameters()) if (name.Contains("proj", StringComparison.Ordinal)) p.mul_(0.5); // the copy (projections; the head stays fp32) is stale until set again
        Assert.True((Step() == bf16).all().item<bool>());
        model.DecodeWeights = DecodeWeights.BFloat16;
        Assert.False((Step() == bf16).all().item<bool>());
    }

    [Fact]
    public void DeepSeek_v3_models_stay_on_libtorch()
    {
        Assert.False(FusedDecoder.Covers(TinyModels.Variant("mla")));
        Assert.False(FusedDecoder.Covers(TinyModels.Variant("moe")));
        Assert.True(FusedDecoder.Covers(TinyModels.Config()));
    }
}
