using Aha.Checkpoints;
using Aha.Model;
using Aha.Tokenizer;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// Save and resume of a LoRA run, shared by the trainers: the checkpoint holds the adapters (PEFT's format) and their
/// AdamW moments; the frozen base is named by the run's state (<c>base_model</c>, <c>base_model_sha256</c>) and loaded from there.
/// </summary>
public static class AdapterRuns
{
    /// <summary>The adapters' weights and moments from <paramref name="resume"/>, and its state; the base must already be loaded.</summary>
    public static TrainingState Restore(AdapterCheckpoint resume, LlamaModel model, AdamW optimizer)
    {
        var adapters = model.Lora ?? throw new InvalidOperationException("resuming a LoRA checkpoint needs a model with adapters attached.");
        var state = resume.State ?? throw new InvalidDataException(
            $"{resume.Directory} has no {Checkpoint.StateFile}, so it cannot be resumed; start a new run with --adapter-free weights instead.");
        if (resume.Config != adapters.Config)
            throw new ArgumentException($"{resume.Directory} holds r {resume.Config.Rank}, α {resume.Config.Alpha} on {string.Join(",", resume.Config.Targets)}; " +
                $"this run asks for r {adapters.Config.Rank}, α {adapters.Config.Alpha} on {string.Join(",", adapters.Config.Targets)}. Resume with the run's LoRA options.");
        resume.LoadInto(adapters);
        using var scope = NewDisposeScope();
        AdamWState.Import(optimizer, adapters, resume.LoadOptimizer(), Path.Combine(resume.Directory, Checkpoint.OptimizerFile));
        return state;
    }

    /// <summary>Writes the step checkpoint of a LoRA run (see <see cref="AdapterCheckpoint.Save"/>).</summary>
    public static string Save(string runDir, long step, LlamaModel model, ITokenizer tokenizer, TrainingState state, AdamW optimizer, int keepLast,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, Tensor>>? extraTensorFiles = null)
    {
        var adapters = model.Lora!;
        return AdapterCheckpoint.Save(runDir, Checkpoint.StepName(step), adapters, state.Get<string>("base_model") ?? "", tokenizer, state,
            AdamWState.Export(optimizer, adapters), keepLast, extraTensorFiles);
    }
}
