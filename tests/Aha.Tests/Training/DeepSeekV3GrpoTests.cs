using Aha.Model;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Tests.Training;

/// <summary>GRPO, unchanged, on DeepSeek-V3-style policies: sampling over the compact MLA cache, MoE routing, a reference copy, an update.</summary>
public class DeepSeekV3GrpoTests
{
    [Theory]
    [InlineData("mla")]
    [InlineData("moe")]
    [InlineData("v3")]
    public void A_grpo_step_on_a_v3_style_policy_reports_finite_metrics_and_updates_the_weights(string arch)
    {
        var dense = new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 4, MaxPositionEmbeddings = 64,
        }.Validate();
        var model = TinyModels.Random(Architectures.Apply(dense, arch), seed: 7);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
        // About half of a random model's first tokens are ASCII bytes, so every group has signal.
        var rewards = new RewardSet([(new DelegateReward("ascii_first", (Completion c) => c.Text.Length > 0 && c.Text[0] < 128 ? 1f : 0f), 1f)]);
        var options = new GrpoOptions { PromptsPerStep = 2, GroupSize = 8, MaxCompletionTokens = 6, LearningRate = 3e-2, Beta = 0.04f, Seed = 5 };
        using var trainer = new GrpoTrainer(model, ByteTokenizer.Default, new ArithmeticTask(ArithmeticOptions.Level(1)), rewards, options);
        var step = trainer.Step(0);
        Assert.True(step["zero_signal_fraction"] < 1, "the test needs groups with reward signal");
        foreach (var name in new[] { "reward", "kl", "entropy", "grad_norm", "tokens_per_second" })
            Assert.True(double.IsFinite(step[name]), $"{name} = {step[name]}");
        Assert.Contains(model.named_parameters(), p => !p.parameter.data<float>().ToArray().SequenceEqual(before[p.name]));
    }

    [Fact]
    public void A_grpo_update_on_a_moe_policy_moves_the_router_bias()
    {
        var dense = new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 4, MaxPositionEmbeddings = 64,
        }.Validate();
        var model = TinyModels.Random(Architectures.Apply(dense, "moe"), seed: 7);
        static float[] Biases(LlamaModel m) => m.state_dict().Where(kv => kv.Key.EndsWith("e_score_correction_bias", StringComparison.Ordinal))
            .SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();
        var before = Biases(model);
        Assert.NotEmpty(before);
        var rewards = new RewardSet([(new DelegateReward("ascii_first", (Completion c) => c.Text.Length > 0 && c.Text[0] < 128 ? 1f : 0f), 1f)]);
        using var trainer = new GrpoTrainer(model, ByteTokenizer.Default, new ArithmeticTask(ArithmeticOptions.Level(1)), rewards,
            new GrpoOptions { PromptsPerStep = 2, GroupSize = 8, MaxCompletionTokens = 6, Beta = 0f, Seed = 5 });
        trainer.Step(0);
        Assert.False(before.SequenceEqual(Biases(model)), "the router bias should move toward balance after an update");
    }
}
