using Aha.Reports;
using Aha.Training;

namespace Aha.Tests.Reports;

public class MetricsReaderTests
{
    [Fact]
    public void Steps_written_by_MetricsLog_read_back_with_the_same_scalars()
    {
        using var temp = new TempDirectory();
        var written = Enumerable.Range(1, 5).Select(DemoReportTests.Step).ToList();
        using (var log = new MetricsLog(temp.Path, tensorboard: false))
        {
            log.Write("pretrain", 1, new Dictionary<string, double> { ["loss"] = 3.5 }); // another phase in the same file
            foreach (var step in written) log.Write("grpo", step.Step, step.Scalars);
        }

        var read = MetricsReader.Read(temp["metrics.jsonl"]);

        Assert.Equal(written.Select(s => s.Step), read.Select(s => s.Step));
        foreach (var (w, r) in written.Zip(read))
        {
            Assert.Equal(w.Scalars.Keys.Order(), r.Scalars.Keys.Order());
            foreach (var (name, value) in w.Scalars)
                Assert.Equal(value, r[name], 1e-6); // MetricsLog rounds to 7 decimals
        }
    }

    [Fact]
    public void Null_reads_as_NaN_and_a_repeated_step_keeps_its_last_row()
    {
        using var temp = new TempDirectory();
        File.WriteAllLines(temp["metrics.jsonl"],
        [
            """{"phase":"grpo","step":1,"time":"t","reward":0.5,"kl":null}""",
            """{"phase":"grpo","step":2,"time":"t","reward":0.25}""",
            """{"phase":"grpo","step":2,"time":"t","reward":0.75}""", // a resumed run appends the step again
            "",
        ]);

        var read = MetricsReader.Read(temp["metrics.jsonl"]);

        Assert.Equal([1L, 2L], read.Select(s => s.Step));
        Assert.True(double.IsNaN(read[0]["kl"]));
        Assert.Equal(0.75, read[1]["reward"]);
    }

    [Theory]
    [InlineData("""{"phase":"grpo","step":1,"reward":0.5""", "not a JSON object")]
    [InlineData("""{"phase":"grpo","reward":0.5}""", "missing integer field 'step'")]
    [InlineData("""{"phase":"grpo","step":1,"reward":"high"}""", "field 'reward' is String")]
    public void A_bad_line_is_named_by_file_and_line(string line, string message)
    {
        using var temp = new TempDirectory();
        File.WriteAllLines(temp["metrics.jsonl"], ["""{"phase":"grpo","step":1,"reward":0.5}""", line]);

        var error = Assert.Throws<InvalidDataException>(() => MetricsReader.Read(temp["metrics.jsonl"]));

        Assert.Contains("metrics.jsonl:2", error.Message);
        Assert.Contains(message, error.Message);
    }
}
