using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

public class MlaAttentionTests
{
    static Tensor Ids(params long[] ids) => tensor(ids, [1, ids.Length]);

    [Theory]
    [InlineData("mla", true)]
    [InlineData("mla", false)]
    [InlineData("mla_plain_q", true)]
    [InlineData("v3", true)]
    public void Decoding_over_the_latent_cache_gives_the_logits_of_a_full_forward(string variant, bool absorb)
    {
        using var model = TinyModels.Random(TinyModels.Variant(variant));
        model.AbsorbMlaForDecode = absorb;
        using var noGrad = no_grad();
        long[] sequence = [1, 17, 42, 5, 77, 3, 64, 9, 31, 12];
        using var full = model.forward(Ids(sequence));                        // (1, T, V)
        using var cache = model.NewCache(1, sequence.Length);
        using var prefill = model.forward(Ids(sequence[..4]), cache: cache);
        Assert.True(prefill.allclose(full.narrow(1, 0, 4), rtol: 0, atol: 1e-5));
        using var chunk = model.forward(Ids(sequence[4..7]), cache: cache);   // several new tokens after a filled cache: the expanded path
        Assert.True(chunk.allclose(full.narrow(1, 4, 3), rtol: 0, atol: 1e-5));
        for (int t = 7; t < sequence.Length; t++)
        {
            using var step = model.LastLogits(Ids(sequence[t]), cache: cache); // (1, V)
            using var expected = full.select(1, t);
            using var diff = (step - expected).abs().max();
            Assert.True(diff.item<float>() < 1e-5, $"position {t}: maxdiff {diff.item<float>()}");
        }
    }

    [Fact]
    public void A_left_padded_batch_decodes_each_prompt_as_alone_through_the_absorbed_path()
    {
        using var model = TinyModels.Random(TinyModels.Variant("mla"));
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
            using var expected = alone.select(1, prompts[row].Length);
            Assert.True(step[row].allclose(expected[0], rtol: 0, atol: 1e-5), $"row {row} decode");
        }
    }

    [Fact]
    public void The_cache_holds_only_the_latent_and_the_shared_rope_key()
    {
        var config = TinyModels.Variant("mla");
        using var model = TinyModels.Random(config);
        using var cache = model.NewCache(2, 8);
        long expected = config.NumHiddenLayers * (config.KvLoraRank!.Value + config.QkRopeHeadDim!.Value) * sizeof(float); // 2 · (12 + 4) · 4
        Assert.Equal(expected, cache.BytesPerToken);
        Assert.Equal(expected, ModelSize.Of(config).KvCacheBytesPerToken);
        using var llama = TinyModels.Random(TinyModels.Config());
        using var llamaCache = llama.NewCache(2, 8);
        Assert.Equal(2 * (2 * 2 * 8) * sizeof(float), llamaCache.BytesPerToken); // layers · (K and V · Hkv · D)
    }
}
