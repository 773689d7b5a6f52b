using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Tests.Training;

/// <summary>The compute budget's arithmetic, and that a trainer's step reports what it ran.</summary>
public class FlopsTests
{
    static ModelConfig Config() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    }.Validate();

    [Fact]
    public void A_forward_counts_two_per_weight_per_token_and_causal_attention_per_row()
    {
        // Rows of 3 and 5 tokens: 8 tokens, Σ n² = 34; L 2, C 32: 2·1000·8 + 4·2·32·34.
        Assert.Equal(16_000 + 8_704, Flops.Forward(Config(), 1_000, [3, 5]));
        Assert.Equal(0, Flops.Forward(Config(), 1_000, []));
    }

    [Fact]
    public void The_matmul_parameters_leave_out_the_embedding_lookup_and_count_a_reward_models_head()
    {
        using var lm = TinyModels.Random(Config());
        long embedding = (long)ByteTokenizer.VocabSize * 32;
        Assert.Equal(lm.parameters().Sum(p => p.numel()) - embedding, Flops.MatmulParameters(lm));
        using var rm = RewardModels.FromCausalLm(lm, ByteTokenizer.Default.PadId);
        Assert.Equal(Flops.MatmulParameters(lm) - embedding + 32, Flops.MatmulParameters(rm)); // the LM head (V×C) becomes the score head (1×C)
    }

    [Fact]
    public void A_grpo_step_reports_sampling_the_reference_and_one_training_pass_over_its_rollouts()
    {
        var task = new ArithmeticTask(ArithmeticOptions.Level(1));
        using var model = TinyModels.Random(Config());
        using var trainer = new GrpoTrainer(model, ByteTokenizer.Default, task, RewardSet.R1Zero(task),
            new GrpoOptions { PromptsPerStep = 2, GroupSize = 4, MaxCompletionTokens = 6, Beta = 0.04f, Seed = 5 });
        var step = trainer.Step(0);
        var rows = step.Samples.Select(s => ByteTokenizer.Default.Encode(s.Prompt, addSpecialTokens: true).Length + s.Tokens).ToList();
        // μ = 1 reuses the sampling policy's log-probs: generation + reference forward + forward and backward (3).
        Assert.Equal(5 * Flops.Forward(model.Config, Flops.MatmulParameters(model), rows), step["flops"], 6);
    }
}
