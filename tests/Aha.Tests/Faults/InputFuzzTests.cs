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

    /// <summary>Rows the bench's fuzzing found crashing the readers (InvalidOperationException, ArgumentException): now rejected with file:line.</summary>
    [Theory]
    [InlineData("{\"text\":\"\\ud800\",\"prompt\":\"\\ud800\",\"completion\":\"x\",\"question\":\"\\ud800\",\"answer\":\"#### 1\",\"problem\":\"\\ud800\",\"solution\":\"\\\\boxed{1}\"}")]
    [InlineData("{\"text\":\"a\",\"text\":\"b\",\"prompt\":\"p\",\"completion\":\"c\",\"question\":\"q\",\"question\":\"r\",\"answer\":\"#### 1\",\"problem\":\"p\",\"problem\":\"p\",\"solution\":\"\\\\boxed{1}\"}")]
    public void Rows_the_fuzzer_found_are_rejected_with_file_and_line(string row)
    {
        using var dir = new TempDirectory();
        string path = dir["rows.jsonl"];
        File.WriteAllText(path, "{\"text\":\"ok\",\"prompt\":\"p\",\"completion\":\"c\",\"question\":\"q\",\"answer\":\"#### 2\",\"problem\":\"p\",\"solution\":\"\\\\boxed{2}\"}\n" + row + "\n");
        foreach (var target in Targets.Where(t => t.FileName.EndsWith(".jsonl", StringComparison.Ordinal) && t.Name != "SFT conversations JSONL"))
        {
            var e = Record.Exception(() => target.Read(path));
            if (e is null) continue; // duplicate keys are legal JSON to a reader that takes the last or the first
            Assert.True(target.Rejections.Contains(e.GetType()), $"{target.Name}: {e.GetType().Name}: {e.Message}");
            Assert.Contains("rows.jsonl:2", e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A mutation the bench found (seed 1): Parquet.Net loops forever on this footer; the read must end with an error.
    /// Run through the real CLI: the looping reader thread cannot be stopped from outside (it ignores cancellation), so
    /// in this process it would spin on one of the two cores for the rest of the test run; the CLI's exit ends it.
    /// </summary>
    [Fact]
    public void A_parquet_file_that_sends_the_reader_into_a_loop_is_rejected_by_name()
    {
        using var dir = new TempDirectory();
        string path = dir["loop.parquet"];
        File.WriteAllBytes(path, Convert.FromHexString(LoopingParquet));
        int code = Aha.Tests.Training.CliProcess.Run(TimeSpan.FromMinutes(2), out _, out var stderr, "tasks", "sample", "gsm8k", "--data", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}: not a readable Parquet file", stderr, StringComparison.Ordinal);
    }

    const string LoopingParquet = "504152311500152C15302C15041500150615061C1804322B323F1804312B313F16002804322B323F1804312B313F000000165402000000040104000000312B313F04000000322B323F1500153A153E2C15041500150615061C1809736F0A232323232032180623232323203416002809736F0A2323232320321806232323232034310000001D7002000000040109000000736F0A232323232032060000002323232320341502193C4804726F6F74150400150C250218087175657374696F6E25004C1C000000150C25021806616E7377657225004C1C0000001604191C192C26081C150C192500061918087175657374696F6E15021604168601168A0126083C1804322B323F1804312B313F16002804322B323F1804312B313F0000002692011C150C19250006191806616E737765721502160416B00116B4012692013C1809736F0A232323232032180623232323203416002809736F0A232323232032180623232323203400000016B602160436BE0200284A506172717565742E4E657415041500150615061C1809736F0A232323232032180623232323203416002809736F0A23232076657273696F6E20362E312E3020286275696C642063313739643937626432353439623566343461393234316537323966383639643439343765CEEDA9EB50646C65353929001B01000050415231";
}
