namespace Aha.Data;

/// <summary>An SFT row in TRL's prompt-completion form: train on <paramref name="Completion"/> given <paramref name="Prompt"/>.</summary>
public sealed record PromptCompletion(string Prompt, string Completion);
