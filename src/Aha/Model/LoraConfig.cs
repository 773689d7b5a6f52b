namespace Aha.Model;

/// <summary>
/// Low-rank adapters as PEFT's LoRA defines them: each targeted projection computes W x + (α / r) · B (A dropout(x)),
/// A (r, in) initialised Kaiming-uniform (a = √5) and B (out, r) zeros, so an untrained adapter changes nothing.
/// </summary>
public sealed record LoraConfig
{
    /// <summary>Every projection of a Llama/Qwen/Mistral decoder layer, by its Hugging Face module name.</summary>
    public static readonly IReadOnlyList<string> AllTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>r: the adapter's rank.</summary>
    public int Rank { get; init; } = 16;
    /// <summary>α: the update is scaled by α / r.</summary>
    public double Alpha { get; init; } = 32;
    /// <summary>Module names to adapt (a subset of <see cref="AllTargets"/>).</summary>
    public IReadOnlyList<string> Targets { get; init; } = AllTargets;
    /// <summary>Dropout on the adapter's input while training (PEFT's lora_dropout); 0 = none.</summary>
    public double Dropout { get; init; }

    /// <summary>Equal when rank, α, dropout and the targets (in order) are.</summary>
    public bool Equals(LoraConfig? other) => other is not null && Rank == other.Rank && Alpha == other.Alpha
        && Dropout == other.Dropout && Targets.SequenceEqual(other.Targets);

    public override int GetHashCode() => HashCode.Combine(Rank, Alpha, Dropout, string.Join(",", Targets));

    /// <summary>α / r, the factor on B·A.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Whether projections in the attention block are targeted.</summary>
    public static string Block(string target) => target is "gate_proj" or "up_proj" or "down_proj" ? "mlp" : "self_attn";

    /// <summary>Throws naming the option and the fix when a value is out of range or a target is unknown.</summary>
    public LoraConfig Validate()
    {
        if (Rank <= 0) throw new ArgumentException($"--lora-rank {Rank}: must be positive (e.g. 16).");
        if (!(Alpha > 0) || !double.IsFinite(Alpha)) throw new ArgumentException($"--lora-alpha {Alpha}: must be positive (e.g. 32, twice the rank).");
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) throw new ArgumentException($"--lora-dropout {Dropout}: must be in [0, 1).");
        if (Targets.Count == 0) throw new ArgumentException($"--lora-targets is empty: name one or more of {string.Join(",", AllTargets)}.");
        foreach (var target in Targets)
            if (!AllTargets.Contains(target))
                throw new ArgumentException($"--lora-targets: unknown module '{target}'; the adaptable modules are {string.Join(",", AllTargets)}.");
        if (Targets.Distinct().Count() != Targets.Count) throw new ArgumentException($"--lora-targets names a module twice: {string.Join(",", Targets)}.");
        return this;
    }

    /// <summary>Parses <c>q_proj,k_proj,…</c> (or <c>all</c>) into target names, in the canonical order.</summary>
    public static IReadOnlyList<string> ParseTargets(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names is ["all"]) return AllTargets;
        return names;
    }
}
