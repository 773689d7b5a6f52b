using Aha.Tokenizer;
using Aha.Checkpoints;
using Aha.Tests.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Checkpoints;

/// <summary>Every DeepSeek-V3 variant through the files: Save, Open, LoadModel give back the same config, weights, router bias and logits.</summary>
public class DeepSeekV3CheckpointTests
{
    [Theory]
    [MemberData(nameof(TinyModels.Variants), MemberType = typeof(TinyModels))]
    public void A_saved_variant_opens_with_its_config_and_loads_the_same_weights_and_logits(string variant)
    {
        using var run = new TempDirectory();
        var config = TinyModels.Variant(variant) with { VocabSize = ByteTokenizer.VocabSize }; // room for the tokenizer saved beside it
        using var saved = TinyModels.Random(config, seed: 1);
        using var ids = tensor(new long[] { 1, 17, 42, 5, 77, 3 }, [1, 6]);
        using (saved.forward(ids)) { }    // count load so the router bias moves off zero and must travel too
        saved.UpdateRouterBias(0.01);
        string folder = Checkpoint.Save(run.Path, "final", saved, config, ByteTokenizer.Default, new TrainingState { Step = 3, Trainer = "pretrain" });

        var checkpoint = Checkpoint.Open(folder);
        Assert.Equal(config, checkpoint.Config);
        using var loaded = new Aha.Model.LlamaModel(checkpoint.Config);
        checkpoint.LoadModel(loaded);
        var expected = saved.state_dict();
        var actual = loaded.state_dict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, value) in expected) Assert.True(value.equal(actual[name]).all().item<bool>(), name);
        if (config.UsesMoe)
        {
            var names = SafeTensors.ReadHeader(Path.Combine(folder, "model.safetensors")).Tensors.Select(t => t.Name).ToList();
            Assert.Contains($"model.layers.{config.FirstKDenseReplace}.mlp.gate.e_score_correction_bias", names);
            Assert.False(actual[$"model.layers.{config.FirstKDenseReplace}.mlp.gate.e_score_correction_bias"].eq(0).all().item<bool>());
        }

        using var noGrad = no_grad();
        using var before = saved.forward(ids);
        using var after = loaded.forward(ids);
        Assert.True(after.equal(before).all().item<bool>());
    }
}
