using Aha.Tokenizer;
using Aha.Checkpoints;
using Aha.Training;
using static Aha.Tests.Training.TrainerFixtures;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

public class LanguageModelTrainerTests
{
    [Fact]
    public void A_few_steps_change_every_parameter()
    {
        using var model = NewModel();
        var before = Weights(model);
        var result = Trainer(model, Options with { Steps = 3 }).Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var unchanged = Weights(model).Where(p => p.Value.SequenceEqual(before[p.Key])).Select(p => p.Key).ToList();
        Assert.Empty(unchanged);
    }

    [Fact]
    public void A_tiny_model_overfits_one_batch()
    {
        var batch = Source(Options).Next();
        using var model = NewModel();
        var losses = new List<double>();
        Trainer(model, Options with { Steps = 150, LearningRate = 1e-2 }, new FixedBatchSource(batch), onStep: r => losses.Add(r.Loss)).Run();
        Assert.True(losses[0] > 4, $"first loss {losses[0]}");
        Assert.True(losses[^1] < 0.2, $"loss after 150 steps on one batch: {losses[^1]}");
    }

    [Fact]
    public void Accumulating_eight_micro_batches_of_one_equals_one_batch_of_eight()
    {
        (List<double> Losses, List<double> Norms, Dictionary<string, float[]> Weights) Train(int batch, int accum)
        {
            using var model = NewModel();
            var (losses, norms) = (new List<double>(), new List<double>());
            Trainer(model, Options with { Steps = 2, BatchSize = batch, GradAccum = accum, LearningRate = 1e-3 },
                onStep: r => { losses.Add(r.Loss); norms.Add(r.GradNorm); }).Run();
            return (losses, norms, Weights(model));
        }
        var whole = Train(batch: 8, accum: 1);
        var split = Train(batch: 1, accum: 8);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(whole.Losses[i], split.Losses[i], 1e-5);
            Assert.Equal(whole.Norms[i], split.Norms[i], 1e-5);
        }
        foreach (var (name, w) in whole.Weights)
            for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(w[i] - split.Weights[name][i]) < 1e-5, $"{name}[{i}]: {w[i]} vs {split.Weights[name][i]}");
    }

    [Fact]
    public void Resuming_after_an_interrupt_reproduces_the_uninterrupted_run()
    {
        using var run = new TempDirectory();
        var o = Options with { Steps = 6, SaveEvery = 0, WarmupSteps = 2, MinLrRatio = 0.1 };

        var straight = new List<double>();
        using var reference = NewModel();
        Trainer(reference, o, runDir: run["straight"], onStep: r => straight.Add(r.Loss)).Run();

        var resumed = new List<double>();
        using var cancel = new CancellationTokenSource();
        using (var first = NewModel())
        {
            var stopped = Trainer(first, o, runDir: run["resumed"], onStep: r => { resumed.Add(r.Loss); if (r.Step == 3) cancel.Cancel(); }).Run(cancel: cancel.Token);
            Assert.Equal(TrainingOutcome.Interrupted, stopped.Outcome);
            Assert.Equal(3, stopped.Step);
        }
        using var second = NewModel();
        using (var noGrad = no_grad()) foreach (var p in second.parameters()) p.zero_(); // proves the weights come from the checkpoint
        var checkpoint = Checkpoint.LoadLatest(run["resumed"]);
        Assert.Equal(3, checkpoint.State!.Step);
        var result = Trainer(second, o, runDir: run["resumed"], onStep: r => resumed.Add(r.Loss)).Run(checkpoint);

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(straight, resumed);
        var expected = Weights(reference);
        foreach (var (name, w) in Weights(second)) Assert.Equal(expected[name], w);
    }

    [Fact]
    public void Non_finite_steps_are_skipped_then_abort_keeping_the_last_good_checkpoint()
    {
        using var run = new TempDirectory();
        var o = Options with { Steps = 20, SaveEvery = 2, MaxBadSteps = 3 };
        using var model = NewModel();
        var warnings = new List<string>();
        var reports = new List<StepReport>();
        var source = new PoisoningSource(Source(o), model, poisonAt: 6); // steps 1-5 are good
        var result = Trainer(model, o, source, run.Path, reports.Add, warnings).Run();

        Assert.Equal(TrainingOutcome.Diverged, result.Outcome);
        Assert.Equal(3, result.SkippedSteps);
        Assert.Equal(8, result.Step);
        // The aborting step (8) is reported too: its callback runs and its metrics row is written.
        Assert.Equal([false, false, false, false, false, true, true, true], reports.Select(r => r.Skipped));
        var rows = File.ReadAllLines(Path.Combine(run.Path, "metrics.jsonl")).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), rows.Select(r => r["step"]!.GetValue<long>()));
        Assert.Null(rows[^1]["loss"]); // NaN is not JSON: written as null
        Assert.Contains(warnings, w => w.Contains("update skipped", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("aborting", StringComparison.Ordinal));
        var latest = Checkpoint.LoadLatest(run.Path);
        Assert.Equal(4, latest.State!.Step);
        using var loaded = NewModel();
        latest.LoadModel(loaded);
        Assert.All(Weights(loaded).Values, w => Assert.All(w, x => Assert.True(float.IsFinite(x))));
        Assert.False(Directory.Exists(run[Checkpoint.StepName(6)]));
    }

    [Theory]
    [InlineData(NonFiniteTarget.Loss, float.NaN)]
    [InlineData(NonFiniteTarget.Loss, float.PositiveInfinity)]
    [InlineData(NonFiniteTarget.Gradients, float.NaN)]
    [InlineData(NonFiniteTarget.Weights, float.PositiveInfinity)]
    public void Injected_non_finite_steps_are_skipped_and_counted_and_never_saved(NonFiniteTarget target, float value)
    {
        using var run = new TempDirectory();
        var o = Options with { Steps = 8, SaveEvery = 2, MaxBadSteps = 3 };
        using var model = NewModel();
        var reports = new List<StepReport>();
        // Loss and gradients: steps 3 and 4 (counted from 1) go bad, then the run recovers. Weights: poisoned for good.
        var result = new LanguageModelTrainer(model, ByteTokenizer.Default, o, Source(o))
        {
            RunDirectory = run.Path, Log = _ => { }, Warn = _ => { }, OnStep = reports.Add, Inject = new NonFiniteInjection(target, FromStep: 2, Count: 2, value),
        }.Run();
        if (target == NonFiniteTarget.Weights)
        {
            Assert.Equal(TrainingOutcome.Diverged, result.Outcome);
            Assert.Equal([false, false, true, true, true], reports.Select(r => r.Skipped));
            Assert.Equal(2, Checkpoint.LoadLatest(run.Path).State!.Step);
        }
        else
        {
            Assert.Equal(TrainingOutcome.Completed, result.Outcome);
            Assert.Equal(2, result.SkippedSteps);
            Assert.Equal([false, false, true, true, false, false, false, false], reports.Select(r => r.Skipped));
            Assert.False(Directory.Exists(run[Checkpoint.StepName(4)]), "a skipped step is never saved");
            Assert.Equal(8, Checkpoint.LoadLatest(run.Path).State!.Step);
        }
        using var loaded = NewModel();
        Checkpoint.LoadLatest(run.Path).LoadModel(loaded);
        Assert.All(Weights(loaded).Values, w => Assert.All(w, x => Assert.True(float.IsFinite(x))));
    }

    [Fact]
    public void Mfu_is_never_above_one_even_against_a_peak_timed_too_low()
    {
        // A peak of 1 FLOP/s is what a peak timed while the cores were busy looks like, taken to the extreme.
        using var model = NewModel();
        var reports = new List<StepReport>();
        var result = new LanguageModelTrainer(model, ByteTokenizer.Default, Options, Source(Options)) { PeakFlops = 1, Log = _ => { }, OnStep = reports.Add }.Run();
        Assert.InRange(result.Mfu, 0, 1);
        Assert.All(reports, r => Assert.InRange(r.Mfu, 0, 1));
    }

    [Fact]
    public void Optimizer_moments_round_trip_through_named_tensors()
    {
        using var model = NewModel();
        using var optimizer = optim.AdamW(model.parameters(), 1e-2);
        using (var scope = NewDisposeScope())
        {
            model.forward(tensor(new long[] { 1, 2, 3, 4 }, [1, 4])).sum().backward();
            optimizer.step();
        }
        using var scope2 = NewDisposeScope();
        var saved = AdamWState.Export(optimizer, model).ToDictionary(p => p.Key, p => p.Value.clone());
        Assert.Equal(3 * model.parameters().Count(), saved.Count);
        using var fresh = optim.AdamW(model.parameters(), 1e-2);
        AdamWState.Import(fresh, model, saved);
        foreach (var (name, value) in AdamWState.Export(fresh, model)) Assert.True(value.eq(saved[name]).all().item<bool>(), name);

        saved.Remove(saved.Keys.First(k => k.EndsWith(".exp_avg_sq", StringComparison.Ordinal)));
        var error = Assert.Throws<InvalidDataException>(void () => AdamWState.Import(fresh, model, saved));
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_log_line_has_the_fixed_format() =>
        Assert.Equal("step 00042/01000 | loss 1.2345 | lr 3.00e-04 | gnorm 0.812 | tok/s 12,345 | mfu 12.3% | eta 1m23s",
            LanguageModelTrainer.FormatLine(42, 1000, 1.23454, 3e-4, 0.8123, 12345.2, 0.1234, 83));

    [Fact]
    public void Options_name_the_bad_value_and_the_option()
    {
        var error = Assert.Throws<ArgumentException>(() => (Options with { GradAccum = 0 }).Validate());
        Assert.Contains("--grad-accum 0", error.Message, StringComparison.Ordinal);
    }
}
