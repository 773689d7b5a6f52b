using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Datasets;
using Aha.Tasks.Rewards;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>GRPO through the shared run loop: exact resume (past a reference reset, across a dataset epoch), orphans, non-finite steps.</summary>
public class GrpoRunTests
{
    static readonly ArithmeticTask Task = new(ArithmeticOptions.Level(1));

    static ModelConfig Config() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    }.Validate();

    static GrpoOptions Options => new()
    {
        PromptsPerStep = 2, GroupSize = 4, MaxCompletionTokens = 6, LearningRate = 3e-2, Beta = 0.04f, Seed = 5, SaveEvery = 1,
    };

    /// <summary>Seven problems in a finite dataset: two prompts a step run out of the train split within a few steps.</summary>
    static DatasetTask SmallDataset()
    {
        var items = Enumerable.Range(0, 40).Select(i => new TaskItem($"p{i}", $"What is {i} + {i % 7}?", $"{i + i % 7}"))
            .Where(item => SplitRule.Contains(TaskSplit.Train, $"jsonl:{item.Prompt}")).Take(7).ToList();
        Assert.Equal(7, items.Count);
        return new DatasetTask("jsonl", new DatasetOptions(), items);
    }

    static GrpoTrainer Trainer(LlamaModel model, ITask task, GrpoOptions options, string? dir, List<string>? log = null, NonFiniteInjection? inject = null) =>
        new(model, ByteTokenizer.Default, task, RewardSet.R1Zero(task), options)
        {
            RunDirectory = dir, Log = line => log?.Add(line), Warn = line => log?.Add(line), Inject = inject,
        };

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

    /// <summary>metrics.jsonl rows without the wall-clock fields, which differ between any two runs.</summary>
    static List<string> Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(line =>
    {
        var row = JsonNode.Parse(line)!.AsObject();
        foreach (var key in row.Select(p => p.Key).Where(k => k == "time" || k.StartsWith("seconds_", StringComparison.Ordinal) || k == "tokens_per_second").ToList())
            row.Remove(key);
        return row.ToJsonString();
    }).ToList();

    [Theory]
    [InlineData("reference reset", 2)]  // the reference is reset at step 2; the run stops at 3 and resumes past the reset
    [InlineData("dataset epoch", 0)]    // 7 problems, 2 per step: the first epoch ends during step 4
    public void Resuming_reproduces_the_uninterrupted_run_bit_for_bit(string across, int resetEvery)
    {
        int threads = TorchSharp.torch.get_num_threads();
        TorchSharp.torch.set_num_threads(1); // the documented promise: bit-identical at --threads 1
        try { ResumeMatches(across, resetEvery); }
        finally { TorchSharp.torch.set_num_threads(threads); }
    }

    static void ResumeMatches(string across, int resetEvery)
    {
        using var dirs = new TempDirectory();
        ITask task = across == "dataset epoch" ? SmallDataset() : Task;
        var options = Options with { Steps = 5, ReferenceResetEvery = resetEvery };
        var initial = TinyModels.Random(Config());

        var straight = Copy(initial);
        var straightLog = new List<string>();
        using (var trainer = Trainer(straight, task, options, dirs["straight"], straightLog)) trainer.Run();

        using var cancel = new CancellationTokenSource();
        using (var first = new GrpoTrainer(Copy(initial), ByteTokenizer.Default, task, RewardSet.R1Zero(task), options)
               { RunDirectory = dirs["resumed"], Log = _ => { }, Warn = _ => { }, OnStep = s => { if (s.Step == 2) cancel.Cancel(); } })
            Assert.Equal(TrainingOutcome.Interrupted, first.Run(cancel: cancel.Token).Result.Outcome);
        var checkpoint = Checkpoint.LoadLatest(dirs["resumed"]);
        Assert.Equal(3, checkpoint.State!.Step);
        var resumed = Copy(initial); // the base weights: the reference until its first reset
        using (var second = Trainer(resumed, task, options, dirs["resumed"]))
        {
            var (result, _) = second.Run(checkpoint);
            Assert.Equal(TrainingOutcome.Completed, result.Outcome);
            if (across == "dataset epoch") Assert.Equal(1, second.ProblemEpoch);
        }
        if (across == "dataset epoch") Assert.Contains(straightLog, l => l.Contains("epoch 2 starts", StringComparison.Ordinal));

        var a = Checkpoint.LoadLatest(dirs["straight"]);
        var b = Checkpoint.LoadLatest(dirs["resumed"]);
        Assert.Equal(Floats(straight.state_dict()), Floats(resumed.state_dict()));
        using (var scope = NewDisposeScope())
            Assert.Equal(Floats(a.LoadOptimizer()), Floats(b.LoadOptimizer()));
        Assert.Equal(a.State!.Payload.ToJsonString(), b.State!.Payload.ToJsonString());
        Assert.Equal(Rows(dirs["straight"]), Rows(dirs["resumed"]));
        if (resetEvery > 0) Assert.True(File.Exists(Path.Combine(b.Directory, GrpoTrainer.ReferenceFile)), "a reset reference travels with the checkpoint");
    }

    /// <summary>Scores a completion by how many 'e's it holds: sampled groups differ, so every step has advantages and trains the adapters.</summary>
    sealed class LetterReward : IRewardFunction
    {
        public string Name => "letters";
        public float[] Score(IReadOnlyList<Completion> batch) => [.. batch.Select(c => (float)c.Text.Count(ch => ch == 'e'))];
    }

    [Fact]
    public void Resuming_a_lora_run_reproduces_the_uninterrupted_run_bit_for_bit()
    {
        int threads = TorchSharp.torch.get_num_threads();
        TorchSharp.torch.set_num_threads(1);
        try
        {
            using var dirs = new TempDirectory();
            var options = Options with { Steps = 4, MaxCompletionTokens = 8 };
            var rewards = new RewardSet([(new LetterReward(), 1f)]);
            var initial = TinyModels.Random(Config());
            var lora = new LoraConfig { Rank = 2, Alpha = 4, Targets = ["q_proj", "v_proj", "down_proj"] };
            LlamaModel WithAdapters() { var m = Copy(initial); manual_seed(11); m.AttachLora(lora); return m; }
            GrpoTrainer Build(LlamaModel m, string dir, Action<GrpoStep>? onStep = null) =>
                new(m, ByteTokenizer.Default, Task, rewards, options) { RunDirectory = dir, Log = _ => { }, Warn = _ => { }, OnStep = onStep };

            var straight = WithAdapters();
            var before = straight.Lora!.PeftStateDict().ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());
            using (var trainer = Build(straight, dirs["straight"])) trainer.Run();
            using var cancel = new CancellationTokenSource();
            using (var first = Build(WithAdapters(), dirs["resumed"], s => { if (s.Step == 1) cancel.Cancel(); }))
                Assert.Equal(TrainingOutcome.Interrupted, first.Run(cancel: cancel.Token).Result.Outcome);
            var checkpoint = AdapterCheckpoint.TryLoadLatest(dirs["resumed"])!;
            Assert.Equal(2, checkpoint.State!.Step);
            var resumed = Copy(initial);
            resumed.AttachLora(lora); // other random A: the checkpoint's replace them
            using (var second = Build(resumed, dirs["resumed"])) Assert.Equal(TrainingOutcome.Completed, second.Run(checkpoint).Result.Outcome);

            var a = Floats(straight.Lora!.PeftStateDict());
            Assert.Equal(a, Floats(resumed.Lora!.PeftStateDict()));
            Assert.Contains(a, p => p.Key.Contains("lora_B", StringComparison.Ordinal) && !p.Value.SequenceEqual(before[p.Key])); // the adapters trained
            var (x, y) = (AdapterCheckpoint.TryLoadLatest(dirs["straight"])!, AdapterCheckpoint.TryLoadLatest(dirs["resumed"])!);
            using (var scope = NewDisposeScope()) Assert.Equal(Floats(x.LoadOptimizer()), Floats(y.LoadOptimizer()));
            Assert.Equal(x.State!.Payload.ToJsonString(), y.State!.Payload.ToJsonString());
            Assert.Equal(Rows(dirs["straight"]), Rows(dirs["resumed"]));
        }
        finally { TorchSharp.torch.set_num_threads(threads); }
    }

    [Fact]
    public void A_finite_dataset_starts_a_new_epoch_in_a_new_order_instead_of_failing()
    {
        var task = SmallDataset();
        var log = new List<string>();
        using var trainer = Trainer(TinyModels.Random(Config()), task, Options with { Steps = 8, Beta = 0 }, dir: null, log);
        var (result, _) = trainer.Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(16, trainer.ProblemCursor);
        Assert.Equal(2, trainer.ProblemEpoch); // 16 problems of 7: passes 1 and 2 complete, the third begun
        Assert.Equal(2, log.Count(l => l.Contains("starts after", StringComparison.Ordinal)));
    }

    [Fact]
    public void An_orphan_step_folder_left_before_latest_moved_is_removed_and_written_again()
    {
        using var dir = new TempDirectory();
        var initial = TinyModels.Random(Config());
        using (var trainer = Trainer(Copy(initial), Task, Options with { Steps = 2 }, dir.Path)) trainer.Run();
        // A crash between renaming step-2 into place and moving 'latest' to it.
        File.WriteAllText(Path.Combine(dir.Path, Checkpoint.LatestFile), Checkpoint.StepName(1) + "\n");
        var log = new List<string>();
        using var resumed = Trainer(Copy(initial), Task, Options with { Steps = 3 }, dir.Path, log);
        var (result, _) = resumed.Run(Checkpoint.LoadLatest(dir.Path));
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Contains(log, l => l.Contains("removing", StringComparison.Ordinal) && l.Contains(Checkpoint.StepName(2), StringComparison.Ordinal));
        Assert.Equal(3, Checkpoint.LoadLatest(dir.Path).State!.Step);
    }

    [Theory]
    [InlineData(NonFiniteTarget.Loss, float.NaN)]
    [InlineData(NonFiniteTarget.Gradients, float.PositiveInfinity)]
    [InlineData(NonFiniteTarget.Weights, float.NaN)]
    public void Non_finite_steps_are_skipped_counted_and_abort_keeping_the_last_good_checkpoint(NonFiniteTarget target, float value)
    {
        using var dir = new TempDirectory();
        var log = new List<string>();
        var options = Options with { Steps = 10, SaveEvery = 2, MaxBadStepsInARow = 3 };
        // Loss and gradients: one bad step, then the run recovers. Weights: poisoned for good, so three in a row abort.
        int count = target == NonFiniteTarget.Weights ? 1 : 2;
        using var trainer = Trainer(TinyModels.Random(Config()), Task, options, dir.Path, log, new NonFiniteInjection(target, FromStep: 4, count, value));
        var (result, steps) = trainer.Run();
        var skipped = steps.Select(s => s["skipped"] > 0).ToList();
        if (target == NonFiniteTarget.Weights)
        {
            Assert.Equal(TrainingOutcome.Diverged, result.Outcome);
            Assert.Equal(7, result.Step);
            Assert.Equal([false, false, false, false, true, true, true], skipped);
            Assert.Equal(4, Checkpoint.LoadLatest(dir.Path).State!.Step);
            Assert.Equal(7, Rows(dir.Path).Count); // the aborting step's row too
        }
        else
        {
            Assert.Equal(TrainingOutcome.Completed, result.Outcome);
            Assert.Equal(2, result.SkippedSteps);
            Assert.Equal([false, false, false, false, true, true, false, false, false, false], skipped);
            Assert.Equal(10, Checkpoint.LoadLatest(dir.Path).State!.Step);
            Assert.False(Directory.Exists(Path.Combine(dir.Path, Checkpoint.StepName(6))), "a skipped step is never saved");
        }
        Assert.Contains(log, l => l.Contains("update skipped", StringComparison.Ordinal));
        using var loaded = new LlamaModel(Config());
        Checkpoint.LoadLatest(dir.Path).LoadModel(loaded);
        Assert.True(RunLoop.AllFinite(loaded.parameters()));
    }

    [Fact]
    public void Weights_that_turned_non_finite_are_never_saved()
    {
        using var dir = new TempDirectory();
        var log = new List<string>();
        var saved = new List<long>();
        using var model = TinyModels.Random(Config());
        var loop = new RunLoop
        {
            Steps = 4, SaveEvery = 1, RunDirectory = dir.Path, Warn = log.Add, Weights = () => model.parameters(),
            Save = step => { saved.Add(step); return $"step {step}"; },
            Step = step =>
            {
                // A finite loss and gradient whose update overflowed: only the check before the save can catch it.
                if (step == 1) using (no_grad()) model.parameters().First().fill_(float.PositiveInfinity);
                return new LoopStep(step + 1, new Dictionary<string, double> { ["loss"] = 1 }, Skipped: false);
            },
        };
        var result = loop.Run(0, CancellationToken.None);
        Assert.Equal([1L], saved);
        Assert.Equal("step 1", result.Checkpoint);
        Assert.Contains(log, l => l.Contains("not saved", StringComparison.Ordinal));
    }
}
