using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Preferences;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>DPO: the loss family against hand-computed values, one step in the right direction, exact resume, LoRA's reference.</summary>
public class DpoTests
{
    static ModelConfig Config() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    }.Validate();

    static readonly ITokenizer Tokenizer = ByteTokenizer.Default;

    /// <summary>Two pairs, fixed sequence log-probs. Pair 1: h = (−10 − −11) − (−12 − −11) = 2. Pair 2: h = (−5 − −5) − (−4 − −5) = −1.</summary>
    static (Tensor Pc, Tensor Pr, Tensor Rc, Tensor Rr) Fixed() =>
        (tensor(new[] { -10f, -5f }), tensor(new[] { -12f, -4f }), tensor(new[] { -11f, -5f }), tensor(new[] { -11f, -5f }));

    // With β = 0.1, βh = 0.2 and −0.1; −log σ(x) = log(1 + e^−x): log(1 + e^−0.2) = 0.5981388693, log(1 + e^0.1) = 0.7443966600.
    [Theory]
    [InlineData(DpoLossType.Sigmoid, 0.0, 0.6712677647)]  // (0.5981388693 + 0.7443966600) / 2
    [InlineData(DpoLossType.Sigmoid, 0.1, 0.6762677647)]  // cDPO: −log σ(−x) = −log σ(x) + x, so each pair adds ε·x: 0.67126776 + 0.1·(0.2 − 0.1)/2
    [InlineData(DpoLossType.Ipo, 0.0, 22.5)]              // target 1/(2β) = 5: ((2 − 5)² + (−1 − 5)²) / 2 = (9 + 36) / 2
    public void The_losses_equal_hand_computed_values(DpoLossType type, double smoothing, double expected)
    {
        var (pc, pr, rc, rr) = Fixed();
        var (loss, stats) = DpoLoss.Compute(pc, pr, rc, rr, beta: 0.1, type, smoothing);
        Assert.Equal(expected, loss.item<float>(), 5);
        Assert.Equal(expected, stats.Loss, 5);
    }

    [Fact]
    public void The_metrics_are_trls_implicit_rewards()
    {
        var (pc, pr, rc, rr) = Fixed();
        var (_, s) = DpoLoss.Compute(pc, pr, rc, rr, beta: 0.1);
        Assert.Equal(0.05, s.RewardChosen, 6);      // β · mean(1, 0)
        Assert.Equal(0.0, s.RewardRejected, 6);     // β · mean(−1, 1)
        Assert.Equal(0.05, s.Margin, 6);            // mean(0.2, −0.1)
        Assert.Equal(0.5, s.Accuracy, 6);           // pair 1 ahead, pair 2 behind
        Assert.Equal(-7.5, s.LogpChosen, 6);
        Assert.Equal(-8.0, s.LogpRejected, 6);
    }

    [Fact]
    public void The_gradient_of_dpo_is_minus_beta_sigma_of_minus_beta_h()
    {
        // d/dπ_c of −log σ(βh) = −β σ(−βh); pair 1: −0.1 σ(−0.2) = −0.0450166, over a batch of 2 → −0.0225083.
        var (pc, pr, rc, rr) = Fixed();
        pc.requires_grad_(true);
        var (loss, _) = DpoLoss.Compute(pc, pr, rc, rr, beta: 0.1);
        loss.backward();
        Assert.Equal(-0.0225083, pc.grad!.data<float>()[0], 6);
    }

    static IReadOnlyList<EncodedPair> Pairs() =>
    [
        .. new[] { ("What is 1+1?", " 2", " 3"), ("What is 2+2?", " 4", " 44"), ("What is 3+1?", " 4", " 5"), ("What is 5+3?", " 8", " 9") }
            .Select(p => EncodedPair.Encode(Tokenizer, PreferencePair.Text(p.Item1, p.Item2, p.Item3), 64)),
    ];

    static DpoOptions Options => new() { Steps = 4, BatchSize = 2, LearningRate = 1e-2, Seed = 3, SaveEvery = 1 };

    static LlamaModel Copy(LlamaModel source)
    {
        var model = new LlamaModel(source.Config);
        using var noGrad = no_grad();
        var weights = source.state_dict();
        foreach (var (name, tensor) in model.state_dict()) tensor.copy_(weights[name]);
        return model;
    }

    static Dictionary<string, float[]> Floats(IReadOnlyDictionary<string, Tensor> tensors) =>
        tensors.Where(t => t.Value.dtype == ScalarType.Float32).ToDictionary(t => t.Key, t => t.Value.data<float>().ToArray());

    [Fact]
    public void One_step_raises_the_chosen_minus_rejected_margin()
    {
        var model = TinyModels.Random(Config());
        var pairs = Pairs();
        using var trainer = new DpoTrainer(model, Tokenizer, pairs, Options with { Steps = 1, BatchSize = pairs.Count, LearningRate = 1e-3 }) { Log = _ => { } };
        double Margin()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return pairs.Sum(p =>
            {
                double chosen = trainer.Score(model, p.Prompt, p.Chosen), rejected = trainer.Score(model, p.Prompt, p.Rejected);
                return chosen - rejected;
            });
        }
        double before = Margin();
        var report = trainer.Step(0);
        Assert.False(report.Skipped);
        Assert.Equal(Math.Log(2), report.Scalars["loss"], 5); // policy = reference at step 0: h = 0, loss = log 2
        double after = Margin();
        Assert.True(after > before, $"Σ (log π(chosen) − log π(rejected)) went from {before} to {after}");
    }

    [Fact]
    public void Sequence_log_probs_sum_the_completion_tokens_only_and_ignore_right_padding()
    {
        var model = TinyModels.Random(Config());
        model.eval();
        int[] prompt = [256, 65, 66], completion = [67, 68];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // By hand: log_softmax of the unpadded forward at the positions before each completion token.
        var logits = model.forward(tensor(new long[] { 256, 65, 66, 67, 68 }).unsqueeze(0)).log_softmax(-1); // (1, 5, V)
        double expected = logits[0, 2, 67].item<float>() + logits[0, 3, 68].item<float>();
        // The same row right-padded to 8 beside a longer row; the mask marks targets 2 and 3 (they predict tokens 3 and 4).
        var ids = tensor(new long[] { 256, 65, 66, 67, 68, 258, 258, 258, 256, 1, 2, 3, 4, 5, 6, 7 }, [2, 8]);
        var mask = zeros(2, 7);
        mask[0, 2] = tensor(1f);
        mask[0, 3] = tensor(1f);
        Assert.Equal(expected, DpoTrainer.SequenceLogProbs(model, ids, mask)[0].item<float>(), 4);
    }

    [Fact]
    public void Resuming_reproduces_the_uninterrupted_run_bit_for_bit()
    {
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            using var dirs = new TempDirectory();
            var initial = TinyModels.Random(Config());
            var options = Options with { Steps = 5 };   // 4 pairs, 2 a step: the resume crosses into the second shuffled pass
            var straight = Copy(initial);
            using (var trainer = new DpoTrainer(straight, Tokenizer, Pairs(), options) { RunDirectory = dirs["straight"], Log = _ => { } }) trainer.Run();

            using var cancel = new CancellationTokenSource();
            using (var first = new DpoTrainer(Copy(initial), Tokenizer, Pairs(), options)
                   { RunDirectory = dirs["resumed"], Log = _ => { }, Warn = _ => { }, OnStep = s => { if (s.Step == 2) cancel.Cancel(); } })
                Assert.Equal(TrainingOutcome.Interrupted, first.Run(cancel: cancel.Token).Result.Outcome);
            var checkpoint = Checkpoint.LoadLatest(dirs["resumed"]);
            Assert.Equal(2, checkpoint.State!.Step);
            var resumed = Copy(initial); // the base weights: they become the reference, then the checkpoint loads over the policy
            using (var second = new DpoTrainer(resumed, Tokenizer, Pairs(), options) { RunDirectory = dirs["resumed"], Log = _ => { } })
                Assert.Equal(TrainingOutcome.Completed, second.Run(checkpoint).Result.Outcome);

            Assert.Equal(Floats(straight.state_dict()), Floats(resumed.state_dict()));
            var a = Checkpoint.LoadLatest(dirs["straight"]);
            var b = Checkpoint.LoadLatest(dirs["resumed"]);
            using (var scope = NewDisposeScope()) Assert.Equal(Floats(a.LoadOptimizer()), Floats(b.LoadOptimizer()));
            Assert.Equal(Rows(dirs["straight"]), Rows(dirs["resumed"]));
        }
        finally { set_num_threads(threads); }
    }

    /// <summary>metrics.jsonl rows without the wall-clock fields.</summary>
    static List<string> Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(line =>
    {
        var row = JsonNode.Parse(line)!.AsObject();
        foreach (var key in new[] { "time", "seconds", "tokens_per_second" }) row.Remove(key);
        return row.ToJsonString();
    }).ToList();

    [Fact]
    public void With_lora_the_reference_is_the_base_with_adapters_off_and_no_copy_is_kept()
    {
        var model = TinyModels.Random(Config());
        model.AttachLora(new LoraConfig { Rank = 2, Alpha = 4, Targets = LoraConfig.AllTargets }.Validate());
        var baseWeights = Floats(model.state_dict().Where(kv => !kv.Key.Contains("lora", StringComparison.Ordinal)).ToDictionary());
        using var trainer = new DpoTrainer(model, Tokenizer, Pairs(), Options with { Steps = 3 }) { Log = _ => { } };
        Assert.Null(trainer.Reference);
        var (result, steps) = trainer.Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(Math.Log(2), steps[0].Scalars["loss"], 5); // B starts at zero: the first policy is the reference
        Assert.NotEqual(Math.Log(2), steps[^1].Scalars["loss"], 5);
        Assert.Equal(baseWeights, Floats(model.state_dict().Where(kv => !kv.Key.Contains("lora", StringComparison.Ordinal)).ToDictionary()));
    }

    [Fact]
    public void A_non_finite_step_is_skipped_and_counted()
    {
        var model = TinyModels.Random(Config());
        var warnings = new List<string>();
        using var trainer = new DpoTrainer(model, Tokenizer, Pairs(), Options with { Steps = 3 })
        {
            Log = _ => { }, Warn = warnings.Add, Inject = new NonFiniteInjection(NonFiniteTarget.Loss, FromStep: 1),
        };
        var (result, steps) = trainer.Run();
        Assert.Equal(1, result.SkippedSteps);
        Assert.Equal(1, steps[1].Scalars["skipped"]);
        Assert.Contains(warnings, w => w.Contains("non-finite", StringComparison.Ordinal));
    }
}
