using Aha.Data;
using Aha.Preferences;
using Xunit;

namespace Aha.Tests.Preferences;

public class PreferenceDataTests
{
    [Fact]
    public void Trl_standard_rows_become_pairs_with_their_file_and_line()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "prefs.jsonl");
        File.WriteAllText(path, "{\"prompt\":\"1+1=\",\"chosen\":\"2\",\"rejected\":\"3\"}\n\n{\"prompt\":\"2+2=\",\"chosen\":\"4\",\"rejected\":\"5\",\"extra\":1}\n");
        var pairs = PreferenceData.Load(path);
        Assert.Equal(2, pairs.Count);
        Assert.Equal(("2+2=", "4", "5"), (pairs[1].PromptText, pairs[1].Chosen, pairs[1].Rejected));
        Assert.Equal($"{path}:3", pairs[1].Origin);
    }

    [Fact]
    public void Verifier_verdicts_in_a_row_are_kept_with_its_pair()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "prefs.jsonl");
        File.WriteAllText(path, "{\"prompt\":\"1+1=\",\"chosen\":\"2\",\"rejected\":\"3\",\"chosen_correct\":true,\"rejected_correct\":false}\n" +
                                "{\"prompt\":\"2+2=\",\"chosen\":\"5\",\"rejected\":\"3\",\"chosen_correct\":false,\"rejected_correct\":false}\n" +
                                "{\"prompt\":\"3+3=\",\"chosen\":\"6\",\"rejected\":\"7\",\"chosen_correct\":true}\n");
        var pairs = PreferenceData.Load(path);
        Assert.Equal((true, false), pairs[0].Correct);
        Assert.Equal((false, false), pairs[1].Correct);
        Assert.Null(pairs[2].Correct); // half a verdict is no verdict
    }

    [Fact]
    public void A_soft_label_in_a_row_is_kept_and_one_outside_0_to_1_is_named_by_file_and_line()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "prefs.jsonl");
        File.WriteAllText(path, "{\"prompt\":\"1+1=\",\"chosen\":\"2\",\"rejected\":\"3\",\"chosen_probability\":0.75}\n{\"prompt\":\"2+2=\",\"chosen\":\"4\",\"rejected\":\"5\"}\n");
        var pairs = PreferenceData.Load(path);
        Assert.Equal(0.75, pairs[0].ChosenProbability);
        Assert.Null(pairs[1].ChosenProbability); // a hard label

        File.WriteAllText(path, "{\"prompt\":\"1+1=\",\"chosen\":\"2\",\"rejected\":\"3\",\"chosen_probability\":1.5}\n");
        var e = Assert.Throws<InvalidDataException>(() => PreferenceData.Load(path));
        Assert.Contains($"{path}:1: field \"chosen_probability\" is 1.5, expected a probability in [0, 1]", e.Message);
    }

    [Fact]
    public void A_bad_row_is_named_by_file_line_and_field_or_skipped_and_counted()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "prefs.jsonl");
        File.WriteAllText(path, "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n{\"prompt\":\"a\",\"chosen\":\"b\"}\n");
        var e = Assert.Throws<InvalidDataException>(() => PreferenceData.Load(path));
        Assert.Contains($"{path}:2: field \"rejected\" is missing", e.Message);

        var report = new BadRowReport();
        Assert.Single(PreferenceData.Load(path, new PreferenceDataOptions(report)));
        Assert.Equal(1, report.Count);
    }
}
