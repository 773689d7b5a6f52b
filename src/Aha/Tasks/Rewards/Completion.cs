namespace Aha.Tasks.Rewards;

/// <summary>
/// One sampled answer as the reward functions see it: the rendered prompt, the generated text, the problem it
/// answers, its length in tokens, and whether generation stopped at the length limit instead of at end-of-sequence.
/// </summary>
public sealed record Completion(string Prompt, string Text, TaskItem Item, int TokenCount = 0, bool Truncated = false);
