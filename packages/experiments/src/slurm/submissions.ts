/**
 * `results/<study>/slurm/submissions.json`: every Slurm submission of the study (array job, report
 * job, the runs it covered, the command), so `--status` and later submissions know which jobs to
 * ask Slurm about.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '@moepp/run-format';
import { slurmDir } from './sbatch-script.ts';

const submissionSchema = z.object({
  arrayJobId: z.string(),
  reportJobId: z.string(),
  indices: z.array(z.number().int().nonnegative()),
  submittedAt: z.string(),
  command: z.string(),
});
export type Submission = z.infer<typeof submissionSchema>;

function submissionsFile(studyDir: string): string {
  return join(slurmDir(studyDir), 'submissions.json');
}

export function readSubmissions(studyDir: string): Submission[] {
  const file = submissionsFile(studyDir);
  if (!existsSync(file)) return [];
  return z.array(submissionSchema).parse(JSON.parse(readFileSync(file, 'utf8')));
}

export function recordSubmission(studyDir: string, submission: Submission): void {
  const all = [...readSubmissions(studyDir), submission];
  writeFileAtomic(submissionsFile(studyDir), `${JSON.stringify(all, null, 2)}\n`);
}
