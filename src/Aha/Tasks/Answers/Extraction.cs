namespace Aha.Tasks.Answers;

/// <summary>The answer text found in a completion and the rule that found it (one flag of <see cref="AnswerSources"/>).</summary>
public sealed record Extraction(string Text, AnswerSources Source);
