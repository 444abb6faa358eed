/* Built as an ordinary executable (ET_EXEC with -no-pie): not a shared object. */
int main(void) { return 0; }
