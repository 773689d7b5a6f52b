using Aha.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

public class KvCacheTests
{
    static Tensor Ids(params long[] ids) => tensor(ids, [1, ids.Length]);

    [Fact]
    public void Decoding_token_by_token_over_the_cache_gives_the_logits_of_a_full_forward()
    {
        using var model = TinyModels.Random(TinyModels.Config());
        using var noGrad = no_grad();
        long[] sequence = [1, 17, 42, 5, 77, 3, 64, 9, 31, 12];
        using var full = model.forward(Ids(sequence));                        // (1, T, V)
        using var cache = model.NewCache(1, sequence.Length);
        using var prefill = model.forward(Ids(sequence[..4]), cache: cache);  // chunk of 4, nothing cached yet
        Assert.True(prefill.allclose(full.narrow(1, 0, 4), rtol: 0, atol: 1e-5));
        using var chunk = model.forward(Ids(sequence[4..7]), cache: cache);   // chunk of 3 after 4 cached
        Assert.True(chunk.allclose(full.narrow(1, 4, 3), rtol: 0, atol: 1e-5));
        for (int t = 7; t < sequence.Length; t++)
        {
            using var step = model.LastLogits(Ids(sequence[t]), cache: cache); // (1, V)
            using var expected = full.select(1, t);
            Assert.True(step.allclose(expected, rtol: 0, atol: 1e-5), $"position {t}");
        }
        Assert.Equal(sequence.Length, cache.Length);
    }

    [Fact]
    public void A_left_padded_batch_over_the_cache_gives_each_prompts_own_logits()
    {
        using var model = TinyModels.Random(TinyModels.Config(tied: true, bias: true));
        using var noGrad = no_grad();
        long[][] prompts = [[1, 5, 9, 13, 17, 21], [1, 40], [1, 60, 61, 62]];
        long[] next = [30, 31, 32];
        int width = prompts.Max(p => p.Length);
        var ids = prompts.SelectMany(p => Enumerable.Repeat(0L, width - p.Length).Concat(p)).ToArray();
        var maskValues = prompts.SelectMany(p => Enumerable.Repeat(0L, width - p.Length).Concat(Enumerable.Repeat(1L, p.Length + 1))).ToArray();
        using var mask = tensor(maskValues, [prompts.Length, width + 1]);   // (B, P + 1)
        using var cache = model.NewCache(prompts.Length, width + 1);
        using var prefill = model.LastLogits(tensor(ids, [prompts.Length, width]), attentionMask: mask.narrow(1, 0, width), cache: cache);
        using var step = model.LastLogits(tensor(next, [prompts.Length, 1]), attentionMask: mask, cache: cache);
        for (int row = 0; row < prompts.Length; row++)
        {
            using var alone = model.forward(Ids([.. prompts[row], next[row]]));  // (1, n + 1, V)
            using var expectedPrefill = alone.select(1, prompts[row].Length - 1);
            using var expectedStep = alone.select(1, prompts[row].Length);
            Assert.True(prefill[row].allclose(expectedPrefill[0], rtol: 0, atol: 1e-5), $"row {row} prefill");
            Assert.True(step[row].allclose(expectedStep[0], rtol: 0, atol: 1e-5), $"row {row} decode");
        }
    }

    [Fact]
    public void Selecting_rows_keeps_their_cached_keys()
    {
        using var model = TinyModels.Random(TinyModels.Config());
        using var noGrad = no_grad();
        using var cache = model.NewCache(2, 4);
        using var prefill = model.forward(tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]), cache: cache);
        cache.SelectRows([1]);
        using var step = model.LastLogits(tensor(new long[] { 7 }, [1, 1]), cache: cache);
        using var alone = model.forward(tensor(new long[] { 4, 5, 6, 7 }, [1, 4]));
        using var expected = alone.select(1, 3);
        Assert.Equal(1, cache.Batch);
        Assert.True(step.allclose(expected, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Writing_past_the_capacity_fails_with_a_message_saying_what_to_do()
    {
        using var model = TinyModels.Random(TinyModels.Config());
        using var noGrad = no_grad();
        using var cache = model.NewCache(1, 2);
        var e = Assert.Throws<InvalidOperationException>(() => model.forward(Ids(1, 2, 3), cache: cache));
        Assert.Contains("larger capacity", e.Message);
    }

    [Fact]
    public void A_bfloat16_model_decodes_over_a_bfloat16_cache_close_to_float32()
    {
        using var model = TinyModels.Random(TinyModels.Config());
        using var noGrad = no_grad();
        using var reference = model.forward(Ids(1, 17, 42, 5));   // (1, 4, V) float32
        model.to(ScalarType.BFloat16);
        using var cache = model.NewCache(1, 4);
        using var prefill = model.forward(Ids(1, 17, 42), cache: cache);
        using var step = model.LastLogits(Ids(5), cache: cache);  // (1, V)
        Assert.Equal(ScalarType.BFloat16, step.dtype);
        using var expected = reference.select(1, 3);
        using var diff = (step.to(ScalarType.Float32) - expected).abs().max();
        Assert.True(diff.item<float>() < 0.25f, $"bf16 vs f32 maxdiff {diff.item<float>()}");
    }
}
