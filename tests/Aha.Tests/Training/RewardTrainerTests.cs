using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Preferences;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>`aha rm`'s pieces: the Bradley–Terry loss, the held-out metrics, learning a separable set, exact resume.</summary>
public class RewardTrainerTests
{
    static ModelConfig Config() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    }.Validate();

    static LlamaModel NewRewardModel()
    {
        using var lm = TinyModels.Random(Config(), seed: 11);
        manual_seed(12);
        return RewardModels.FromCausalLm(lm, ByteTokenizer.Default.PadId);
    }

    [Fact]
    public void The_bradley_terry_loss_equals_hand_computed_values()
    {
        using var chosen = tensor(new[] { 1.0f, 0.0f, -2.0f });
        using var rejected = tensor(new[] { 0.0f, 0.5f, -1.0f });
        // gaps 1, −0.5, −1: −log σ(1) = 0.3132617, −log σ(−0.5) = 0.9740770, −log σ(−1) = 1.3132617
        using var loss = RewardLoss.BradleyTerry(chosen, rejected);
        Assert.Equal((0.3132617 + 0.9740770 + 1.3132617) / 3, loss.item<float>(), 5);
        // A margin of 0.5 on the first pair: gap 0.5, −log σ(0.5) = 0.4740770
        using var margin = tensor(new[] { 0.5f, 0f, 0f });
        using var withMargin = RewardLoss.BradleyTerry(chosen, rejected, margin);
        Assert.Equal((0.4740770 + 0.9740770 + 1.3132617) / 3, withMargin.item<float>(), 5);
    }

    [Fact]
    public void The_soft_bradley_terry_loss_is_the_cross_entropy_to_the_label_and_equals_the_hard_loss_at_probability_1()
    {
        using var chosen = tensor(new[] { 1.0f, 0.0f, -2.0f });
        using var rejected = tensor(new[] { 0.0f, 0.5f, -1.0f });
        using var hard = RewardLoss.BradleyTerry(chosen, rejected);
        using var ones = tensor(new[] { 1f, 1f, 1f });
        using var asSoft = RewardLoss.BradleyTerry(chosen, rejected, target: ones);
        Assert.Equal(hard.item<float>(), asSoft.item<float>(), 6);
        // p = 0.8 on gap 1: −[0.8·log σ(1) + 0.2·log σ(−1)] = 0.8·0.3132617 + 0.2·1.3132617 = 0.5132617
        // p = 0.5 on gap −0.5: 0.5·0.9740770 + 0.5·0.4740770 = 0.7240770; p = 0 on gap −1: −log σ(1) = 0.3132617
        using var target = tensor(new[] { 0.8f, 0.5f, 0f });
        using var soft = RewardLoss.BradleyTerry(chosen, rejected, target: target);
        Assert.Equal((0.5132617 + 0.7240770 + 0.3132617) / 3, soft.item<float>(), 5);
        // Swapping chosen and rejected and the label (p → 1 − p) is the same judgement: the same loss.
        using var mirrored = RewardLoss.BradleyTerry(rejected, chosen, target: 1 - target);
        Assert.Equal(soft.item<float>(), mirrored.item<float>(), 6);
    }

    [Fact]
    public void A_reward_model_trained_on_a_soft_label_settles_at_the_gap_whose_sigmoid_is_that_label()
    {
        using var rm = NewRewardModel();
        var tokenizer = ByteTokenizer.Default;
        var pair = RewardPair.From(tokenizer, PreferencePair.Text("Q:", " good", " bad") with { ChosenProbability = 0.8 }, 64);
        Assert.Equal(0.8, pair.Target);
        using var trainer = new RewardTrainer(rm, tokenizer, [pair], [pair], new RewardOptions { Steps = 150, BatchSize = 4, LearningRate = 3e-3, EvalEvery = 0, SaveEvery = 0 })
            { Log = _ => { }, Warn = _ => { } };
        trainer.Run();
        // The soft loss is smallest where σ(r_c − r_r) = 0.8, i.e. a gap of ln 4 = 1.386; a hard label would push it without bound.
        double gap = trainer.Evaluations.Last().Eval.MeanMargin;
        Assert.InRange(gap, 1.2, 1.6);
    }

    [Fact]
    public void Held_out_metrics_count_label_accuracy_and_agreement_with_the_verifier_separately()
    {
        var ids = new EncodedPair([1], [2], [3]);
        var pairs = new[]
        {
            new RewardPair(ids, 0, ChosenCorrect: true, RejectedCorrect: false),  // RM right, label right
            new RewardPair(ids, 0, ChosenCorrect: false, RejectedCorrect: true),  // a flipped label: RM sides with the truth
            new RewardPair(ids, 0, ChosenCorrect: true, RejectedCorrect: true),   // both right: no verdict on the RM
            new RewardPair(ids, 0),                                               // no verifier metadata
        };
        var eval = RewardEvaluation.FromScores(pairs, [2f, 0f, 1f, 1f], [1f, 3f, 1f, 0f]);
        Assert.Equal((1 + 0 + 0.5 + 1) / 4.0, eval.Accuracy, 6);  // a tie counts half
        Assert.Equal((1 - 3 + 0 + 1) / 4.0, eval.MeanMargin, 6);
        Assert.Equal(2, eval.VerifierPairs);
        Assert.Equal(1.0, eval.VerifierAgreement, 6);            // both decisive pairs: the correct completion scored higher
        Assert.Equal((2 + 3 + 1 + 1) / 4.0, eval.CorrectMean, 6);
        Assert.Equal((1 + 0) / 2.0, eval.WrongMean, 6);
    }

    /// <summary>Prompts are random digit sums; the chosen completion always says "yes", the rejected one "no".</summary>
    static List<RewardPair> ToyPairs(int count, int offset)
    {
        var random = new Random(offset);
        return Enumerable.Range(0, count).Select(_ =>
        {
            string prompt = $"Q{random.Next(100, 999)}:";
            var pair = PreferencePair.Text(prompt, $" {random.Next(10)} yes", $" {random.Next(10)} no");
            return RewardPair.From(ByteTokenizer.Default, pair, 32);
        }).ToList();
    }

    static RewardOptions Toy => new() { Steps = 30, BatchSize = 8, LearningRate = 3e-3, EvalEvery = 0, SaveEvery = 0, Seed = 3 };

    [Fact]
    public void A_reward_model_learns_a_separable_toy_set_to_95_percent_held_out_pair_accuracy()
    {
        using var rm = NewRewardModel();
        var heldOut = ToyPairs(40, 2);
        using var trainer = new RewardTrainer(rm, ByteTokenizer.Default, ToyPairs(64, 1), heldOut, Toy) { Log = _ => { } };
        var before = RewardEvaluation.Of(rm, heldOut);
        var (result, steps) = trainer.Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var after = trainer.Evaluations[^1].Eval;
        Assert.True(after.Accuracy >= 0.95, $"held-out pair accuracy {after.Accuracy:F3} (before {before.Accuracy:F3})");
        Assert.True(steps[^1].Scalars["loss"] < steps[0].Scalars["loss"]);
    }

    [Fact]
    public void Resuming_a_reward_model_run_reproduces_the_uninterrupted_run()
    {
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            using var dirs = new TempDirectory();
            var options = Toy with { Steps = 5, SaveEvery = 1, EvalEvery = 2 };
            var train = ToyPairs(12, 1); // 8 per step: the second step crosses into the second epoch's order
            var heldOut = ToyPairs(6, 2);
            using var straight = NewRewardModel();
            using (var trainer = new RewardTrainer(straight, ByteTokenizer.Default, train, heldOut, options) { RunDirectory = dirs["straight"], Log = _ => { } })
                trainer.Run();

            using var cancel = new CancellationTokenSource();
            using (var first = new RewardTrainer(NewRewardModel(), ByteTokenizer.Default, train, heldOut, options)
                   { RunDirectory = dirs["resumed"], Log = _ => { }, Warn = _ => { }, OnStep = s => { if (s.Step == 3) cancel.Cancel(); } })
                Assert.Equal(TrainingOutcome.Interrupted, first.Run(cancel: cancel.Token).Result.Outcome);
            var checkpoint = Checkpoint.LoadLatest(dirs["resumed"]);
            Assert.Equal(3, checkpoint.State!.Step);
            Assert.True(checkpoint.Config.SequenceClassification);
            using var resumed = NewRewardModel();
            using (var second = new RewardTrainer(resumed, ByteTokenizer.Default, train, heldOut, options) { RunDirectory = dirs["resumed"], Log = _ => { } })
                Assert.Equal(TrainingOutcome.Completed, second.Run(checkpoint).Result.Outcome);

            foreach (var (name, tensor) in straight.state_dict())
                Assert.True(tensor.eq(resumed.state_dict()[name]).all().item<bool>(), name);
            Assert.Equal(Rows(dirs["straight"]), Rows(dirs["resumed"]));
        }
        finally { set_num_threads(threads); }
    }

    internal static List<string> Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(line =>
    {
        var row = JsonNode.Parse(line)!.AsObject();
        foreach (var key in row.Select(p => p.Key).Where(k => k == "time" || k.StartsWith("seconds", StringComparison.Ordinal) || k == "tokens_per_second").ToList())
            row.Remove(key);
        return row.ToJsonString();
    }).ToList();
}
