using System.Text.Json.Nodes;
using Aha.Constitutional;
using Aha.Model;
using Aha.Preferences;
using Aha.Tasks;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Tests.Constitutional;

/// <summary><see cref="ConstitutionalAi.RunRl"/> as a library call (what `aha compare` uses): the policy as its own judge, GRPO against the preference model.</summary>
public class RlCaiTests
{
    [Fact]
    public void Rl_cai_with_grpo_labels_trains_a_reward_model_on_the_soft_labels_and_trains_the_policy_against_it()
    {
        using var policy = TinyModels.Random(new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256,
        }.Validate(), seed: 8);
        using var dir = new TempDirectory();
        var tokenizer = ByteTokenizer.Default;
        var labeler = new AiLabeler(new ModelJudge(policy, tokenizer, JudgeMode.Soft, "self"), Constitution.Arithmetic, Seed: 4);
        var options = new RlCaiOptions
        {
            Collection = new PreferenceCollectionOptions { Prompts = 8, Samples = 2, MaxCompletionTokens = 6, Seed = 4 },
            Reward = new RewardOptions { Steps = 2, BatchSize = 2, EvalEvery = 0, SaveEvery = 0, Seed = 4 },
            EvalFraction = 0.25, Algorithm = RlAlgorithm.Grpo, EvalProblems = 2,
            Grpo = new GrpoOptions { Steps = 1, PromptsPerStep = 2, GroupSize = 2, MaxCompletionTokens = 6, SaveEvery = 0, Seed = 4 },
        };
        var result = ConstitutionalAi.RunRl(policy, tokenizer, TaskRegistry.Addition(), labeler, options, dir.Path);

        Assert.Equal(result.Tally.Labels, result.LabelQuality.Labels);
        Assert.Equal(2L * result.LabelQuality.Labels, result.LabelQuality.JudgeCalls); // both orders
        Assert.Equal(result.LabelQuality.Labels, result.LabelQuality.SoftLabels);
        var rows = File.ReadAllLines(result.PairsPath).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(result.Tally.Labels, rows.Count);
        Assert.All(rows, r => Assert.InRange(r["chosen_probability"]!.GetValue<double>(), 0.5, 1));
        Assert.True(Directory.Exists(result.RewardModelCheckpoint), result.RewardModelCheckpoint);
        Assert.Contains("ForSequenceClassification", File.ReadAllText(Path.Combine(result.RewardModelCheckpoint!, "config.json")));
        Assert.Equal(TrainingOutcome.Completed, result.Rl!.Outcome);
        Assert.StartsWith(Path.Combine(dir.Path, "grpo"), result.PolicyCheckpoint);
        Assert.NotNull(result.AccuracyBefore);
        Assert.NotNull(result.AccuracyAfter);
    }
}
