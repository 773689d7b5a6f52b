namespace Aha.Generation;

/// <summary>
/// One prompt to continue. <paramref name="Seed"/> drives this row's own random generator, so its samples do not depend on
/// which other requests share the batch; derive it arithmetically (e.g. <c>seed + step * 1_000_003 + example * 1_009 + sample</c>).
/// </summary>
public sealed record GenerationRequest(IReadOnlyList<int> PromptIds, long Seed = 0);
