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
}
