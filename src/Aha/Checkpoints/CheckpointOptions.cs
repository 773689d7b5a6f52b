namespace Aha.Checkpoints;

/// <summary>How <see cref="Checkpoint"/>.Save writes and prunes.</summary>
public sealed record CheckpointOptions
{
    /// <summary>Keep only the newest N <c>step-NNNNNN</c> folders (0 keeps all). Other names and the one <c>latest</c> names are never pruned.</summary>
    public int KeepLast { get; init; }
    /// <summary>Sampling defaults for generation_config.json; null derives them from the tokenizer (its BOS, stop ids and padding).</summary>
    public GenerationConfig? Generation { get; init; }
    /// <summary>Point <c>latest</c> at the new folder (false for side saves such as "best").</summary>
    public bool UpdateLatest { get; init; } = true;
}
