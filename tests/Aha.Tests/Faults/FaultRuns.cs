using Aha.Tests.Training;

namespace Aha.Tests.Faults;

/// <summary>A real tiny training run with a checkpoint after every step: what the corruption and disk-full tests damage.</summary>
static class FaultRuns
{
    public static void TrainTiny(string runDir, int steps = 2)
    {
        var options = TrainerFixtures.Options with { Steps = steps, SaveEvery = 1 };
        using var model = TrainerFixtures.NewModel();
        TrainerFixtures.Trainer(model, options, runDir: runDir).Run();
    }

    /// <summary>The same run training LoRA adapters (r 2 on q_proj and down_proj): adapter checkpoints after every step.</summary>
    public static void TrainTinyLora(string runDir, int steps = 2)
    {
        var options = TrainerFixtures.Options with { Steps = steps, SaveEvery = 1 };
        using var model = TrainerFixtures.NewModel();
        model.AttachLora(new Aha.Model.LoraConfig { Rank = 2, Alpha = 4, Targets = ["q_proj", "down_proj"] });
        TrainerFixtures.Trainer(model, options, runDir: runDir).Run();
    }
}
