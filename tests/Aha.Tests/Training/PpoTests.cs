using Aha.Checkpoints;
using Aha.Model;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>PPO's formulas against hand-computed values, and the trainer's exact resume.</summary>
public class PpoTests
{
    [Fact]
    public void Gae_equals_a_hand_computed_case()
    {
        // γ = 1, λ = 0.95. t=2: δ = 1 − 0.3 = 0.7; t=1: δ = −0.2 + 0.3 − 0.4 = −0.3, A = −0.3 + 0.95·0.7 = 0.365;
        // t=0: δ = 0.1 + 0.4 − 0.5 = 0, A = 0.95·0.365 = 0.34675. Returns A + V.
        var (a, r) = PpoLoss.Gae([0.1f, -0.2f, 1.0f], [0.5f, 0.4f, 0.3f], gamma: 1, lambda: 0.95);
        Assert.Equal(new[] { 0.34675, 0.365, 0.7 }, a.Select(x => Math.Round(x, 5)));
        Assert.Equal(new[] { 0.84675, 0.765, 1.0 }, r.Select(x => Math.Round(x, 5)));
        // γ = 0.9, λ = 0.5: t=1: δ = 2 − 1 = 1; t=0: δ = 0 + 0.9·1 − 0 = 0.9, A = 0.9 + 0.45·1 = 1.35.
        var (b, _) = PpoLoss.Gae([0f, 2f], [0f, 1f], gamma: 0.9, lambda: 0.5);
        Assert.Equal(new[] { 1.35, 1.0 }, b.Select(x => Math.Round(x, 5)));
    }

    [Fact]
    public void The_kl_penalty_is_in_every_token_reward_and_the_score_on_the_last()
    {
        // −β (log π − log π_ref): −0.1·(−1 + 1.5) = −0.05; −0.1·(−2 + 1) = 0.1, plus the score 2.
        var rewards = PpoLoss.TokenRewards([-1f, -2f], [-1.5f, -1f], score: 2f, beta: 0.1);
        Assert.Equal(new[] { -0.05, 2.1 }, rewards.Select(x => Math.Round(x, 6)));
    }

    [Fact]
    public void The_clipped_policy_loss_equals_hand_values()
    {
        // ratios 1.5, 0.5, 1.1 with A = 1, 1, −1 and ε 0.2: max(−Aρ, −A·clip ρ) = max(−1.5, −1.2), max(−0.5, −0.8), max(1.1, 1.1)
        using var logp = tensor(new[] { (float)Math.Log(1.5), (float)Math.Log(0.5), (float)Math.Log(1.1), 9f }, [1, 4]);
        using var old = zeros(1, 4);
        using var adv = tensor(new[] { 1f, 1f, -1f, 5f }, [1, 4]);
        using var mask = tensor(new[] { 1f, 1f, 1f, 0f }, [1, 4]); // the last position is padding
        var (loss, stats) = PpoLoss.Policy(logp, old, adv, mask, clip: 0.2);
        Assert.Equal((-1.2 - 0.5 + 1.1) / 3, loss.item<float>(), 5);
        Assert.Equal(1.0 / 3, stats.ClipFraction, 5);
        double approx = 0.5 * (Math.Pow(Math.Log(1.5), 2) + Math.Pow(Math.Log(0.5), 2) + Math.Pow(Math.Log(1.1), 2)) / 3;
        Assert.Equal(approx, stats.ApproxKl, 5);
    }

    [Fact]
    public void The_clipped_value_loss_equals_hand_values()
    {
        // V = 1, 0, 1; V_old = 0.5, 0.1, 0.5; R = 0, 1, 2; clip 0.2 → clipped V = 0.7, 0, 0.7.
        // (V − R)² = 1, 1, 1; (V_clip − R)² = 0.49, 1, 1.69 → max 1, 1, 1.69; ½·mean = 0.615; clipped larger on 1 of 3.
        using var values = tensor(new[] { 1f, 0f, 1f }, [1, 3]);
        using var old = tensor(new[] { 0.5f, 0.1f, 0.5f }, [1, 3]);
        using var returns = tensor(new[] { 0f, 1f, 2f }, [1, 3]);
        using var mask = ones(1, 3);
        var (loss, stats) = PpoLoss.Value(values, old, returns, mask, clip: 0.2);
        Assert.Equal(0.615, loss.item<float>(), 5);
        Assert.Equal(1.0 / 3, stats.ClipFraction, 5);
    }

    [Fact]
    public void Whitening_gives_zero_mean_and_unit_unbiased_variance_on_the_mask()
    {
        using var x = tensor(new[] { 1f, 2f, 3f, 100f }, [1, 4]);
        using var mask = tensor(new[] { 1f, 1f, 1f, 0f }, [1, 4]);
        using var w = PpoLoss.Whiten(x, mask);
        var v = w.data<float>().ToArray();
        // mean 2, unbiased variance 1: −1, 0, 1; the masked entry is 0
        Assert.Equal(new[] { -1.0, 0.0, 1.0, 0.0 }, v.Select(f => Math.Round(f, 4)));
        Assert.Equal(1.0, PpoLoss.ExplainedVariance(x, x, mask), 6);
    }

    [Fact]
    public void The_adaptive_kl_controller_moves_beta_toward_the_target_and_a_fixed_one_does_not()
    {
        var adaptive = new KlController(0.1, target: 6);
        adaptive.Update(kl: 12, rollouts: 64); // error clipped to 0.2: β·(1 + 0.2·64/10000)
        Assert.Equal(0.1 * (1 + 0.2 * 64 / 10_000.0), adaptive.Value, 12);
        adaptive.Update(kl: 3, rollouts: 64);  // error −0.5 clipped to −0.2
        Assert.True(adaptive.Value < 0.1 * (1 + 0.2 * 64 / 10_000.0));
        var fixedBeta = new KlController(0.1, target: null);
        fixedBeta.Update(kl: 12, rollouts: 64);
        Assert.Equal(0.1, fixedBeta.Value);
    }

    static ModelConfig Config() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    }.Validate();

    static readonly ArithmeticTask Task = new(ArithmeticOptions.Level(1));
    static PpoOptions Options => new()
    {
        Steps = 4, PromptsPerStep = 3, SamplesPerPrompt = 2, MaxCompletionTokens = 6, LearningRate = 1e-2, ValueLearningRate = 1e-2,
        PpoEpochs = 2, MiniBatches = 2, Seed = 5, SaveEvery = 1, TargetKl = 0.5,
    };

    static (LlamaModel Policy, LlamaModel Value) Models(bool lora = false)
    {
        var policy = TinyModels.Random(Config(), seed: 21);
        manual_seed(22);
        var value = RewardModels.FromCausalLm(policy, ByteTokenizer.Default.PadId);
        if (lora)
        {
            policy.AttachLora(new LoraConfig { Rank = 2, Alpha = 4, Targets = ["q_proj", "v_proj"] });
            using var noGrad = no_grad(); // B starts at zero: give it values so the adapters matter from step 0
            foreach (var p in policy.Lora!.parameters()) p.add_(0.05);
        }
        return (policy, value);
    }

    [Fact]
    public void A_ppo_step_changes_every_policy_and_value_parameter_and_logs_its_metrics()
    {
        var (policy, value) = Models();
        using (policy)
        using (value)
        {
            var before = policy.state_dict().Concat(value.state_dict().Select(p => KeyValuePair.Create("value." + p.Key, p.Value)))
                .ToDictionary(p => p.Key, p => p.Value.clone());
            using var trainer = new PpoTrainer(policy, value, ByteTokenizer.Default, Task, RewardSet.R1Zero(Task), Options with { Steps = 1 }) { Log = _ => { } };
            var (_, steps) = trainer.Run();
            var after = policy.state_dict().Concat(value.state_dict().Select(p => KeyValuePair.Create("value." + p.Key, p.Value)));
            foreach (var (name, tensor) in after)
                if (!name.EndsWith("embed_tokens.weight", StringComparison.Ordinal)) // rows of unsampled bytes get no gradient
                    Assert.False(tensor.eq(before[name]).all().item<bool>(), $"{name} did not change");
            foreach (var key in new[] { "score", "accuracy", "kl", "policy_loss", "value_loss", "value_clipfrac", "explained_variance", "entropy", "approx_kl", "clipfrac", "completion_tokens", "seconds_generation", "seconds_update" })
                Assert.True(steps[0].Scalars.ContainsKey(key), key);
            Assert.True(double.IsFinite(steps[0]["policy_loss"]) && double.IsFinite(steps[0]["value_loss"]));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // LoRA: adapters train, the reference is the base with adapters off, the value model travels in the adapter folder
    public void Resuming_a_ppo_run_reproduces_the_uninterrupted_run(bool lora)
    {
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            using var dirs = new TempDirectory();
            var (straight, straightValue) = Models(lora);
            using (straight)
            using (straightValue)
            using (var trainer = new PpoTrainer(straight, straightValue, ByteTokenizer.Default, Task, RewardSet.R1Zero(Task), Options) { RunDirectory = dirs["straight"], Log = _ => { } })
                trainer.Run();

            using var cancel = new CancellationTokenSource();
            var (p1, v1) = Models(lora);
            using (p1)
            using (v1)
            using (var first = new PpoTrainer(p1, v1, ByteTokenizer.Default, Task, RewardSet.R1Zero(Task), Options)
                   { RunDirectory = dirs["resumed"], Log = _ => { }, Warn = _ => { }, OnStep = s => { if (s.Step == 1) cancel.Cancel(); } })
                Assert.Equal(TrainingOutcome.Interrupted, first.Run(cancel: cancel.Token).Result.Outcome);
            var (resumed, resumedValue) = Models(lora); // the base policy: the KL reference
            using (resumed)
            using (resumedValue)
            {
                using (var second = new PpoTrainer(resumed, resumedValue, ByteTokenizer.Default, Task, RewardSet.R1Zero(Task), Options) { RunDirectory = dirs["resumed"], Log = _ => { } })
                {
                    var result = lora ? second.Run(AdapterCheckpoint.TryLoadLatest(dirs["resumed"])!).Result : second.Run(Checkpoint.LoadLatest(dirs["resumed"])).Result;
                    Assert.Equal(TrainingOutcome.Completed, result.Outcome);
                }
                string a = Path.Combine(dirs["straight"], File.ReadAllText(Path.Combine(dirs["straight"], "latest")).Trim());
                string b = Path.Combine(dirs["resumed"], File.ReadAllText(Path.Combine(dirs["resumed"], "latest")).Trim());
                Assert.EndsWith(Checkpoint.StepName(4), b, StringComparison.Ordinal);
                using var scope = NewDisposeScope();
                var weights = lora ? AdapterCheckpoint.WeightsFile : Checkpoint.ModelFile;
                foreach (var file in new[] { weights, Checkpoint.OptimizerFile, PpoTrainer.ValueFile, PpoTrainer.ValueOptimizerFile })
                {
                    var x = SafeTensors.Load(Path.Combine(a, file));
                    var y = SafeTensors.Load(Path.Combine(b, file));
                    foreach (var (name, tensor) in x) Assert.True(tensor.eq(y[name]).all().item<bool>(), $"{file}: {name}");
                }
                Assert.Equal(File.ReadAllText(Path.Combine(a, Checkpoint.StateFile)), File.ReadAllText(Path.Combine(b, Checkpoint.StateFile)));
                Assert.Equal(RewardTrainerTests.Rows(dirs["straight"]), RewardTrainerTests.Rows(dirs["resumed"]));
            }
        }
        finally { set_num_threads(threads); }
    }

    [Fact]
    public void A_reward_model_is_a_reward_function_that_scores_prompt_and_completion_as_it_was_trained()
    {
        using var lm = TinyModels.Random(Config(), seed: 31);
        manual_seed(32);
        using var rm = RewardModels.FromCausalLm(lm, ByteTokenizer.Default.PadId);
        var reward = new RewardModelReward(rm, ByteTokenizer.Default);
        var item = new Aha.Tasks.TaskItem("1", "What is 1+1?", "2");
        var scores = reward.Score([new Completion("User: 1+1?", " <answer>2</answer>", item), new Completion("User: 1+1?", " <answer>3</answer>", item, 0, Truncated: true)]);
        var tok = ByteTokenizer.Default;
        int[] row = [.. tok.Encode("User: 1+1?", addSpecialTokens: true), .. tok.Encode(" <answer>2</answer>"), tok.EosId!.Value];
        var direct = RewardModels.Score(rm, [row]);
        Assert.Equal(direct[0], scores[0], 5); // alone vs batched with a padded row: float rounding only
        Assert.NotEqual(scores[0], scores[1]);
    }
}
