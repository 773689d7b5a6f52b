using Aha.Training;
using static Aha.Tests.Training.TrainerFixtures;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>Runs alone: the live-tensor count is process-wide, so parallel tests would disturb it.</summary>
[CollectionDefinition(nameof(TrainerLeakTests), DisableParallelization = true)]
[Collection(nameof(TrainerLeakTests))]
public class TrainerLeakTests
{
    [Fact]
    public void Training_steps_with_validation_and_saves_leave_the_live_tensor_count_flat()
    {
        using var run = new TempDirectory();
        var o = Options with { Steps = 8, SaveEvery = 1, EvalEvery = 2, KeepLast = 2 };
        var validation = new[] { Source(o).Next() };
        using var model = NewModel();
        LiveTensors.Settle(); // building the model leaves unreachable wrappers (e.g. the pad row's view)
        var counts = new Dictionary<long, long>();
        var trainer = new LanguageModelTrainer(model, TrainerFixtures.Tokenizer, o, Source(o))
        {
            Validation = validation, RunDirectory = run.Path, Log = _ => { }, Warn = _ => { },
            OnStep = r => counts[r.Step] = Tensor.TotalCount,
        };
        trainer.Run();
        Assert.Equal(counts[2], counts[8]);
        Assert.Equal(counts[4], counts[6]);
    }

    [Fact]
    public void Dpo_steps_with_saves_leave_the_live_tensor_count_flat()
    {
        using var run = new TempDirectory();
        var tokenizer = Aha.Tokenizer.ByteTokenizer.Default;
        var pairs = new[] { ("1+1=", "2", "3"), ("2+2=", "4", "5"), ("3+3=", "6", "66") }
            .Select(p => Aha.Preferences.EncodedPair.Encode(tokenizer, Aha.Preferences.PreferencePair.Text(p.Item1, p.Item2, p.Item3), 32)).ToList();
        using var model = Aha.Tests.Model.TinyModels.Random(Aha.Tests.Model.TinyModels.Config() with { VocabSize = Aha.Tokenizer.ByteTokenizer.VocabSize });
        LiveTensors.Settle();
        var counts = new Dictionary<long, long>();
        using var trainer = new DpoTrainer(model, tokenizer, pairs, new DpoOptions { Steps = 8, BatchSize = 2, SaveEvery = 1, KeepLast = 2, LearningRate = 1e-3 })
        {
            RunDirectory = run.Path, Log = _ => { }, Warn = _ => { }, OnStep = r => counts[r.Step] = Tensor.TotalCount,
        };
        trainer.Run();
        Assert.Equal(counts[2], counts[8]);
        Assert.Equal(counts[4], counts[6]);
    }
}
