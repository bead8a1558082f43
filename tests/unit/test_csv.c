/* test_csv.c: the CSV reader of poolmalloc-plan accepts MiniMalloc's form
 * (any column order, extra columns, CRLF, blank lines) and rejects each
 * kind of malformed input with a message naming the file and line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "planner/csv.h"

TestSuite(csv, .timeout = 30);

/* Writes length bytes of text to a fresh temporary file; returns its path
 * (static). */
static const char *write_problem_bytes(const char *text, size_t length) {
  static char path[64];
  strcpy(path, "/tmp/test_csv_XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, text, length), (ssize_t)length);
  close(fd);
  return path;
}

static const char *write_problem(const char *text) {
  return write_problem_bytes(text, strlen(text));
}

static void expect_rejected_bytes(const char *text, size_t length, const char *line_and_message) {
  const char *path = write_problem_bytes(text, length);
  pm_csv_problem_t problem;
  char error[256];
  cr_expect_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), -1, "accepted: %s", text);
  char expected[320];
  snprintf(expected, sizeof expected, "%s:%s", path, line_and_message);
  cr_expect_neq(strstr(error, expected), NULL, "message '%s' lacks '%s'", error, expected);
  cr_expect_eq(problem.count, 0);
  unlink(path);
}

static void expect_rejected(const char *text, const char *line_and_message) {
  expect_rejected_bytes(text, strlen(text), line_and_message);
}

Test(csv, minimalloc_form) {
  const char *path = write_problem("id,lower,upper,size\n0,0,3,100\nconv1/out,2,5,2048\n");
  pm_csv_problem_t problem;
  char error[256] = "";
  cr_assert_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), 0, "%s", error);
  cr_assert_eq(problem.count, 2);
  cr_expect_str_eq(problem.rows[0].id, "0");
  cr_expect_eq(problem.rows[0].upper, 3);
  cr_expect_str_eq(problem.rows[1].id, "conv1/out");
  cr_expect_eq(problem.rows[1].lower, 2);
  cr_expect_eq(problem.rows[1].upper, 5);
  cr_expect_eq(problem.rows[1].size, 2048);
  _pm_csv_free_problem(&problem);
  unlink(path);
}

Test(csv, columns_by_name_crlf_and_blank_lines) {
  const char *path =
      write_problem("size,upper,note,id,lower\r\n\r\n64,9,x,a,1\r\n 128 , 4 ,y, b ,0\r\n\r\n");
  pm_csv_problem_t problem;
  char error[256] = "";
  cr_assert_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), 0, "%s", error);
  cr_assert_eq(problem.count, 2);
  cr_expect_str_eq(problem.rows[0].id, "a");
  cr_expect(problem.rows[0].lower == 1 && problem.rows[0].upper == 9 && problem.rows[0].size == 64);
  cr_expect_str_eq(problem.rows[1].id, "b");
  cr_expect(problem.rows[1].lower == 0 && problem.rows[1].upper == 4 &&
            problem.rows[1].size == 128);
  _pm_csv_free_problem(&problem);
  unlink(path);
}

/* Excel's "CSV UTF-8" starts the file with a byte-order mark; anywhere
 * else those bytes are part of a field. */
Test(csv, byte_order_mark_before_the_header) {
  const char *path = write_problem("\xef\xbb\xbfid,lower,upper,size\r\na,0,2,10\r\n");
  pm_csv_problem_t problem;
  char error[256] = "";
  cr_assert_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), 0, "%s", error);
  cr_assert_eq(problem.count, 1);
  cr_expect_str_eq(problem.rows[0].id, "a");
  _pm_csv_free_problem(&problem);
  unlink(path);
  expect_rejected("id,lower,upper,size\n\xef\xbb\xbf"
                  "a,0,x,10\n",
                  "2: ");
}

Test(csv, header_only_is_an_empty_problem) {
  const char *path = write_problem("id,lower,upper,size\n");
  pm_csv_problem_t problem;
  char error[256];
  cr_assert_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), 0);
  cr_expect_eq(problem.count, 0);
  _pm_csv_free_problem(&problem);
  unlink(path);
}

Test(csv, malformed) {
  expect_rejected("id,lower,size\n0,1,2\n", "1: header has no 'upper' column");
  expect_rejected("id,lower,upper,size\n0,0,3,100\n1,x,3,100\n", "3: lower 'x' is not a number");
  expect_rejected("id,lower,upper,size\n0,0,3,-100\n", "2: size (-100) must not be negative");
  expect_rejected("id,lower,upper,size\n0,0,99999999999999999999,1\n",
                  "2: upper (99999999999999999999) is too large");
  expect_rejected("id,lower,upper,size\n0,9,5,1\n", "2: upper (5) must be greater than lower (9)");
  expect_rejected("id,lower,upper,size\n0,5,5,1\n", "2: upper (5) must be greater than lower (5)");
  expect_rejected("id,lower,upper,size\n0,0,1,0\n", "2: size must be greater than 0");
  expect_rejected("id,lower,upper,size\n0,0,1\n", "2: row has 3 fields, header has 4");
  expect_rejected("id,lower,upper,size\n0,0,1,8,9\n", "2: row has 5 fields, header has 4");
  expect_rejected("id,lower,upper,size\n,0,1,8\n", "2: id is empty");
  expect_rejected("id,lower,upper,size\n0,0,,8\n", "2: upper is empty");
  expect_rejected("id,lower,upper,size\r\n0,1,2,3\r\n\r\n7,1.5,2,3\r\n",
                  "4: lower '1.5' is not a number");
  expect_rejected("id,lower,upper,size\nx,0,2,8\ny,0,2,8\nx,1,3,8\n", "4: id 'x' repeats line 2");
  static const char with_nul[] = "id,lower,upper,size\na,0,1,8\0junk,9\n";
  expect_rejected_bytes(with_nul, sizeof with_nul - 1, "2: line contains a NUL byte");
  expect_rejected("id,lower,upper,size\r0,0,1,8\r", "1: lines end in a lone CR");
  expect_rejected("id,lower,upper,size,id\n0,0,1,8,1\n", "1: header names 'id' twice");
  static const char leading_nul[] = "\0id,lower,upper,size\na,0,1,8\n";
  expect_rejected_bytes(leading_nul, sizeof leading_nul - 1, "1: line contains a NUL byte");
}

Test(csv, empty_and_missing_files) {
  pm_csv_problem_t problem;
  char error[256];
  const char *path = write_problem("");
  cr_expect_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), -1);
  cr_expect_neq(strstr(error, "empty"), NULL, "%s", error);
  unlink(path);
  path = write_problem("\n\r\n");
  cr_expect_eq(_pm_csv_read_problem(path, &problem, error, sizeof error), -1);
  cr_expect_neq(strstr(error, "empty"), NULL, "%s", error);
  unlink(path);
  cr_expect_eq(_pm_csv_read_problem("/nonexistent/problem.csv", &problem, error, sizeof error), -1);
  cr_expect_neq(strstr(error, "/nonexistent/problem.csv: No such file"), NULL, "%s", error);
}

/* A field echoed in a message keeps it one line: a carriage return inside
 * it, or an escape, shows as '?'. */
Test(csv, control_characters_in_a_field_are_masked) {
  expect_rejected("id,lower,upper,size\na,0,5\r6,8\n", "2: upper '5?6' is not a number");
  expect_rejected("id,lower,upper,size\na,0,\x1b[2J,8\n", "2: upper '?[2J' is not a number");
  /* The id is written back into the plan: refused, not masked. */
  expect_rejected("id,lower,upper,size\na\rb,0,1,8\n", "2: id contains the control character 0x0d");
  expect_rejected("id,lower,upper,size\nok,0,1,8\nc\x1b[2J,0,1,8\n",
                  "3: id contains the control character 0x1b");
  expect_rejected("id,lower,upper,size\na\xc2\x9b"
                  "31m,0,1,8\n",
                  "2: id contains the control character U+009B");
}

/* A path too long for the message loses its start: the line and the
 * problem, and the end of the path that names the file, stay. */
Test(csv, a_long_path_keeps_the_line_and_the_problem) {
  char dir[600] = "/tmp";
  while (strlen(dir) < 500)
    strcat(dir, "/./");
  strcat(dir, "/test_csv_long_XXXXXX");
  int fd = mkstemp(dir);
  cr_assert_geq(fd, 0);
  static const char text[] = "id,lower,upper,size\na,0,x,8\n";
  cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  pm_csv_problem_t problem;
  char error[256];
  cr_expect_eq(_pm_csv_read_problem(dir, &problem, error, sizeof error), -1);
  const char *name = strrchr(dir, '/') + 1;
  char expected[96];
  snprintf(expected, sizeof expected, "%s:2: upper 'x' is not a number", name);
  size_t length = strlen(error);
  cr_assert_geq(length, strlen(expected), "%s", error);
  cr_expect_str_eq(error + length - strlen(expected), expected, "the message ends the line");
  cr_expect_eq(strncmp(error, "...", 3), 0, "the cut is shown: %s", error);
  unlink(dir);
}
