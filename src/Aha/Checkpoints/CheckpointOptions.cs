using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>How <see cref="Checkpoint"/>.Save writes and prunes.</summary>
public sealed record CheckpointOptions
{
    /// <summary>Keep only the newest N <c>step-NNNNNN</c> folders (0 keeps all). Other names and the one <c>latest</c> names are never pruned.</summary>
    public int KeepLast { get; init; }
    /// <summary>Sampling defaults for generation_config.json; null derives them from the tokenizer (its BOS, stop ids and padding).</summary>
    public GenerationConfig? Generation { get; init; }
    /// <summary>A folder whose generation_config.json is copied byte for byte (the base model's, keeping fields Aha does not model); overrides <see cref="Generation"/> when the file exists.</summary>
    public string? GenerationConfigFrom { get; init; }
    /// <summary>Point <c>latest</c> at the new folder (false for side saves such as "best").</summary>
    public bool UpdateLatest { get; init; } = true;
    /// <summary>More safetensors files written into the folder with the rest (atomically), by file name: e.g. GRPO's reference.safetensors.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, Tensor>> ExtraTensorFiles { get; init; } = new Dictionary<string, IReadOnlyDictionary<string, Tensor>>();
}
