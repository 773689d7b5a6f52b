using Aha.Faults;

namespace Aha.Tests.Faults;

/// <summary>
/// Seeded mutations of every input file Aha reads: never an unhandled exception, and every rejection is the documented
/// error type naming the file (and line, for rows). A few hundred cases per target here; `aha bench faults` runs thousands.
/// </summary>
public class InputFuzzTests
{
    static readonly IReadOnlyList<FuzzTarget> Targets = InputFuzzer.Targets(InputFuzzer.ParquetSeed());

    public static TheoryData<string> Names => [.. Targets.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Mutated_input_is_read_or_rejected_by_name_never_crashes(string name)
    {
        using var dir = new TempDirectory();
        var report = InputFuzzer.Run(Targets.Single(t => t.Name == name), cases: 300, seed: 2024, dir.Path);
        Assert.True(report.Failures.Count == 0, $"{report.Failures.Count} of {report.Cases}:\n{string.Join("\n", report.Failures.Take(10))}");
        Assert.True(report.Accepted > 0, "not even the unmutated seed was accepted: the target is broken");
        if (name != "model outputs to verifiers and rewards") Assert.True(report.Rejected > 0, "no mutation was rejected: the mutator is not reaching the reader");
    }
}
